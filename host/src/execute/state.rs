//! What a call sees of the world outside its instance: [`StateView`] (committed state,
//! read-only) and [`ChildCalls`] (validation of `call_pure`), and the store's
//! [`CanisterState`].

use thiserror::Error;

use crate::store::{StateReader, StoreError};

/// Reading committed state failed (the store's I/O, or a corrupt record). This is a host
/// failure: the call that was reading has no verdict.
///
/// # Examples
///
/// ```
/// use commute::execute::StateError;
///
/// assert_eq!(StateError("disk on fire".into()).to_string(), "disk on fire");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct StateError(pub String);

/// Committed state as one canister's call sees it: the read imports of `docs/guest-abi.md`, with
/// names, keys and values as byte strings.
///
/// An implementation must answer the same question the same way for the whole call (a
/// snapshot, or a store no one commits to meanwhile): the call's result is a function of
/// the answers (invariant (H) of [`crate::execute`]).
///
/// # Examples
///
/// ```
/// use commute::execute::{StateError, StateView};
///
/// /// A canister state where nothing was ever written.
/// struct Empty;
///
/// impl StateView for Empty {
///     fn counter_get(&self, _: &[u8], _: &[u8]) -> Result<i128, StateError> { Ok(0) }
///     fn map_get(&self, _: &[u8], _: &[u8]) -> Result<Option<Vec<u8>>, StateError> { Ok(None) }
///     fn map_next_key(&self, _: &[u8], _: Option<&[u8]>) -> Result<Option<Vec<u8>>, StateError> {
///         Ok(None)
///     }
///     fn list_len(&self, _: &[u8]) -> Result<u64, StateError> { Ok(0) }
///     fn list_get(&self, _: &[u8], _: u64) -> Result<Option<Vec<u8>>, StateError> { Ok(None) }
/// }
///
/// assert_eq!(Empty.counter_get(b"views", b"")?, 0);
/// # Ok::<(), StateError>(())
/// ```
pub trait StateView: Send + Sync {
    /// Entry `key` of counter `name`; 0 if never written.
    ///
    /// # Errors
    ///
    /// [`StateError`] if the state cannot be read.
    fn counter_get(&self, name: &[u8], key: &[u8]) -> Result<i128, StateError>;

    /// The value of `key` in map `name`, if present.
    ///
    /// # Errors
    ///
    /// [`StateError`] if the state cannot be read.
    fn map_get(&self, name: &[u8], key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// The first key of map `name` that is greater than `after` in byte order (the first
    /// key at all if `after` is `None`).
    ///
    /// # Errors
    ///
    /// [`StateError`] if the state cannot be read.
    fn map_next_key(
        &self,
        name: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StateError>;

    /// The number of values in list `name`.
    ///
    /// # Errors
    ///
    /// [`StateError`] if the state cannot be read.
    fn list_len(&self, name: &[u8]) -> Result<u64, StateError>;

    /// Value `i` of list `name` (0-based, in the list's `(seq, index)` order), if `i` is in
    /// range.
    ///
    /// # Errors
    ///
    /// [`StateError`] if the state cannot be read.
    fn list_get(&self, name: &[u8], i: u64) -> Result<Option<Vec<u8>>, StateError>;
}

/// The committed state of one canister in the store: [`StateView`] over a
/// [`StateReader`], scoped to the canister's name.
///
/// A [`StateReader`] read sees each commit whole, but a sequence of reads is not a
/// snapshot; the caller runs a call only while no commit can land (updates run between
/// rounds, queries read the last committed state).
///
/// # Examples
///
/// ```
/// use commute::execute::{CanisterState, StateView};
/// use commute::merge::Delta;
/// use commute::store::Store;
/// use commute::write_log::WriteLog;
///
/// let mut store = Store::temporary()?;
/// let mut log = WriteLog::default();
/// log.counter_add(b"views", b"/home", 3)?;
/// store.apply(&Delta::from_call(1, "web", &log))?;
/// let web = CanisterState::new(store.reader(), "web");
/// assert_eq!(web.counter_get(b"views", b"/home")?, 3);
/// assert_eq!(CanisterState::new(store.reader(), "other").counter_get(b"views", b"/home")?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CanisterState<'a> {
    reader: &'a StateReader,
    canister: &'a str,
}

impl<'a> CanisterState<'a> {
    /// The state of `canister` as `reader` reads it.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::CanisterState;
    ///
    /// let store = commute::store::Store::temporary()?;
    /// let state = CanisterState::new(store.reader(), "logger");
    /// assert_eq!(state.canister(), "logger");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(reader: &'a StateReader, canister: &'a str) -> Self {
        CanisterState { reader, canister }
    }

    /// The canister whose state this is.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(commute::execute::CanisterState::new(store.reader(), "c").canister(), "c");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn canister(&self) -> &'a str {
        self.canister
    }
}

impl From<StoreError> for StateError {
    fn from(err: StoreError) -> Self {
        StateError(err.to_string())
    }
}

impl StateView for CanisterState<'_> {
    fn counter_get(&self, name: &[u8], key: &[u8]) -> Result<i128, StateError> {
        Ok(self.reader.counter_get(self.canister, name, key)?)
    }

    fn map_get(&self, name: &[u8], key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.reader.map_get(self.canister, name, key)?)
    }

    fn map_next_key(
        &self,
        name: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.reader.map_next_key(self.canister, name, after)?)
    }

    fn list_len(&self, name: &[u8]) -> Result<u64, StateError> {
        Ok(self.reader.list_len(self.canister, name)?)
    }

    fn list_get(&self, name: &[u8], i: u64) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.reader.list_get(self.canister, name, i)?)
    }
}

/// Why a `call_pure` was refused: the non-zero code the import returns to the guest
/// ([`commute_abi::call_pure_status`]) and a reason for people.
///
/// # Examples
///
/// ```
/// use commute::execute::Refused;
/// use commute_abi::call_pure_status::NO_SUCH_CANISTER;
///
/// let refused = Refused::new(NO_SUCH_CANISTER, "no canister named `ledger`");
/// assert_eq!(refused.to_string(), "no canister named `ledger` (code 1)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{reason} (code {code})")]
pub struct Refused {
    /// The code the guest gets. It should be non-zero; a 0 here reaches the guest as -1,
    /// since 0 means "queued".
    pub code: i32,
    /// Why, in one line.
    pub reason: String,
}

impl Refused {
    /// A refusal with `code` and `reason`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::Refused;
    /// use commute_abi::call_pure_status::BAD_ARGUMENTS;
    ///
    /// assert_eq!(Refused::new(BAD_ARGUMENTS, "expected (text)").code, BAD_ARGUMENTS);
    /// ```
    pub fn new(code: i32, reason: impl Into<String>) -> Self {
        Refused {
            code,
            reason: reason.into(),
        }
    }
}

/// Validates a `call_pure` at the moment the guest makes it (`docs/modes.md`).
///
/// `Ok` holds the normalized argument bytes to queue with the child call; `Err` refuses
/// it: the import returns [`Refused::code`] and nothing is queued. Answers must be a
/// function of the arguments (invariant (H) of [`crate::execute`]).
///
/// # Examples
///
/// ```
/// use commute::execute::{ChildCalls, Refused};
/// use commute_abi::call_pure_status::NO_SUCH_CANISTER;
///
/// /// Only `logger.log` exists; arguments pass as they are.
/// struct OnlyLogger;
///
/// impl ChildCalls for OnlyLogger {
///     fn validate(&self, canister: &str, method: &str, arg: &[u8]) -> Result<Vec<u8>, Refused> {
///         if (canister, method) == ("logger", "log") {
///             Ok(arg.to_vec())
///         } else {
///             Err(Refused::new(NO_SUCH_CANISTER, format!("no {canister}.{method}")))
///         }
///     }
/// }
///
/// assert!(OnlyLogger.validate("bank", "log", b"DIDL\0\0").is_err());
/// ```
pub trait ChildCalls: Send + Sync {
    /// Validates a call of `method` of `canister` with Candid bytes `arg`.
    ///
    /// # Errors
    ///
    /// [`Refused`] when the call is invalid: no such canister, no such pure method, or
    /// arguments that do not fit the method's types.
    fn validate(&self, canister: &str, method: &str, arg: &[u8]) -> Result<Vec<u8>, Refused>;
}
