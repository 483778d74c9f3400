//! Fire-and-forget calls to other canisters: [`call_pure`] and ic-cdk's builder,
//! [`Call::bounded_wait`]`(..).with_arg(..).`[`oneway`](Call::oneway)`()`.
//!
//! Differs from ic-cdk: the target is a canister's installed *name* (`"logger"`), not a
//! principal; the method must be a `pure_update`; and there is no awaited call (commute
//! calls never reply). The host checks the call at once (target exists, method is a pure
//! update, arguments fit its types) and queues it when the caller's writes commit; it runs
//! in a later round, with this canister as its caller. A call made by a call that later
//! traps is never queued.
//!
//! # Errors
//!
//! - [`CallPerformFailed`]: the host refused the call; it carries the target, the method
//!   and the host's code (`commute_abi::call_pure_status`).
//! - [`CallPureError`]: what [`call_pure`] returns: the arguments did not encode, or
//!   [`CallPerformFailed`].
//! - [`OnewayError`]: what [`Call::oneway`] returns, as in ic-cdk: [`CallPerformFailed`].
//!
//! ```
//! use commute_cdk::call::Call;
//!
//! Call::bounded_wait("logger", "log")
//!     .with_args(&(commute_cdk::api::msg_caller(), "signed in"))
//!     .oneway()
//!     .expect("logger is installed");
//! ```

use std::borrow::Cow;

use candid::utils::ArgumentEncoder;
use candid::CandidType;
pub use commute_abi::call_pure_status;
use thiserror::Error;

use crate::imports;

/// The host refused a pure call: nothing was queued.
///
/// ```
/// use commute_cdk::call::call_pure_status::NO_SUCH_CANISTER;
/// use commute_cdk::call::{CallPureError, CallPerformFailed};
///
/// commute_cdk::testing::set_call_pure_status(NO_SUCH_CANISTER);
/// let Err(CallPureError::Refused(e)) = commute_cdk::call_pure("nobody", "log", &()) else {
///     panic!("expected a refusal")
/// };
/// assert_eq!((e.canister.as_str(), e.code), ("nobody", NO_SUCH_CANISTER));
/// assert_eq!(e.to_string(), "call_pure to nobody.log was refused (code 1: no canister by that name)");
/// ```
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("call_pure to {canister}.{method} was refused (code {code}: {})", call_pure_status::describe(*code))]
pub struct CallPerformFailed {
    /// The target canister's name.
    pub canister: String,
    /// The method.
    pub method: String,
    /// The host's non-zero status code.
    pub code: i32,
}

/// Why [`call_pure`] queued nothing.
///
/// ```
/// use commute_cdk::call::CallPureError;
///
/// commute_cdk::testing::set_call_pure_status(2);
/// let err = commute_cdk::call_pure("logger", "count", &()).unwrap_err();
/// assert!(matches!(err, CallPureError::Refused(_)));
/// ```
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CallPureError {
    /// The arguments could not be encoded as Candid.
    #[error("could not encode the arguments of {canister}.{method}: {message}")]
    Encode {
        /// The target canister's name.
        canister: String,
        /// The method.
        method: String,
        /// The encoder's message.
        message: String,
    },
    /// The host refused the call.
    #[error(transparent)]
    Refused(#[from] CallPerformFailed),
}

/// Why [`Call::oneway`] queued nothing. Named as in ic-cdk, so `match`es port.
///
/// ```
/// use commute_cdk::call::{Call, OnewayError};
///
/// commute_cdk::testing::set_call_pure_status(1);
/// let err = Call::bounded_wait("gone", "log").oneway().unwrap_err();
/// assert!(matches!(err, OnewayError::CallPerformFailed(_)));
/// ```
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum OnewayError {
    /// The host refused the call.
    #[error(transparent)]
    CallPerformFailed(#[from] CallPerformFailed),
}

/// Fires a pure call at the canister installed as `canister`, with `args` (a tuple)
/// encoded as Candid. New in commute; ic-cdk's nearest is `Call::oneway`, also offered.
///
/// Allowed in updates, oneways, init and pure updates; a query that calls it traps.
///
/// # Errors
///
/// [`CallPureError::Encode`] if `args` does not encode; [`CallPureError::Refused`] if
/// the host refuses the call (unknown canister or method, a method that is not a
/// `pure_update`, arguments that do not fit its types). Either way nothing is queued.
///
/// ```
/// use commute_cdk::{api, call_pure};
///
/// call_pure("logger", "log", &(api::msg_caller(), "transfer 10")).unwrap();
/// # assert_eq!(commute_cdk::testing::take_pure_calls().len(), 1);
/// ```
pub fn call_pure<A: ArgumentEncoder>(
    canister: &str,
    method: &str,
    args: &A,
) -> Result<(), CallPureError> {
    let arg = candid::utils::encode_args_ref(args).map_err(|e| CallPureError::Encode {
        canister: canister.to_owned(),
        method: method.to_owned(),
        message: e.to_string(),
    })?;
    call_pure_raw(canister, method, &arg)?;
    Ok(())
}

/// Fires a pure call with raw Candid argument bytes. See [`call_pure`].
///
/// # Errors
///
/// [`CallPerformFailed`] if the host refuses the call; nothing is queued.
///
/// ```
/// let arg = candid::encode_args(("home",)).unwrap();
/// commute_cdk::call::call_pure_raw("analytics", "view", &arg).unwrap();
/// ```
pub fn call_pure_raw(canister: &str, method: &str, arg: &[u8]) -> Result<(), CallPerformFailed> {
    match imports::call_pure(canister, method, arg) {
        call_pure_status::QUEUED => Ok(()),
        code => Err(CallPerformFailed {
            canister: canister.to_owned(),
            method: method.to_owned(),
            code,
        }),
    }
}

/// A call to another canister, built as in ic-cdk 0.20 and sent with
/// [`oneway`](Call::oneway). Differs from ic-cdk: the target is an installed canister
/// name, and `oneway` is the only way to send (commute calls never reply).
///
/// Without `with_arg`/`with_args`/`with_raw_args` the call sends the empty tuple `()`.
///
/// ```
/// use commute_cdk::Call;
///
/// Call::bounded_wait("analytics", "view").with_arg("home").oneway().unwrap();
/// let call = &commute_cdk::testing::take_pure_calls()[0];
/// assert_eq!(call.decode::<(String,)>().0, "home");
/// ```
#[derive(Clone, Debug)]
pub struct Call<'m, 'a> {
    canister: &'m str,
    method: &'m str,
    encoded_args: Cow<'a, [u8]>,
}

/// `candid::encode_args(())`.
const EMPTY_ARGS: &[u8] = b"DIDL\x00\x00";

impl<'m> Call<'m, '_> {
    /// A call to `method` of the canister installed as `canister`. The name is ic-cdk's;
    /// commute calls never wait, so it is the same as [`Call::unbounded_wait`].
    ///
    /// ```
    /// commute_cdk::Call::bounded_wait("logger", "log").with_args(&(1u8,)).oneway().unwrap();
    /// ```
    #[must_use]
    pub fn bounded_wait(canister: &'m str, method: &'m str) -> Self {
        Call {
            canister,
            method,
            encoded_args: Cow::Borrowed(EMPTY_ARGS),
        }
    }

    /// The same as [`Call::bounded_wait`]: there is no reply to wait for.
    ///
    /// ```
    /// commute_cdk::Call::unbounded_wait("logger", "log").oneway().unwrap();
    /// ```
    #[must_use]
    pub fn unbounded_wait(canister: &'m str, method: &'m str) -> Self {
        Self::bounded_wait(canister, method)
    }
}

impl<'a> Call<'_, 'a> {
    /// Sets the single argument, encoded as Candid.
    ///
    /// # Panics
    ///
    /// If `arg` does not encode (as in ic-cdk).
    ///
    /// ```
    /// commute_cdk::Call::bounded_wait("analytics", "view").with_arg("home").oneway().unwrap();
    /// ```
    #[must_use]
    pub fn with_arg<A: CandidType>(self, arg: A) -> Self {
        let bytes = candid::encode_one(arg)
            .unwrap_or_else(|e| panic!("failed to encode the argument: {e}"));
        Call {
            encoded_args: Cow::Owned(bytes),
            ..self
        }
    }

    /// Sets the arguments, a tuple, encoded as Candid.
    ///
    /// # Panics
    ///
    /// If `args` does not encode (as in ic-cdk).
    ///
    /// ```
    /// use commute_cdk::{api, Call};
    ///
    /// Call::bounded_wait("logger", "log").with_args(&(api::msg_caller(), "x")).oneway().unwrap();
    /// ```
    #[must_use]
    pub fn with_args<A: ArgumentEncoder>(self, args: &A) -> Self {
        let bytes = candid::utils::encode_args_ref(args)
            .unwrap_or_else(|e| panic!("failed to encode the arguments: {e}"));
        Call {
            encoded_args: Cow::Owned(bytes),
            ..self
        }
    }

    /// Sets the argument bytes as they are, borrowing them.
    ///
    /// ```
    /// let bytes = candid::encode_args(("home",)).unwrap();
    /// commute_cdk::Call::bounded_wait("analytics", "view").with_raw_args(&bytes).oneway().unwrap();
    /// ```
    #[must_use]
    pub fn with_raw_args(self, raw_args: &'a [u8]) -> Self {
        Call {
            encoded_args: Cow::Borrowed(raw_args),
            ..self
        }
    }

    /// Sets the argument bytes as they are, taking them.
    ///
    /// ```
    /// let bytes = candid::encode_args(("home",)).unwrap();
    /// commute_cdk::Call::bounded_wait("analytics", "view").take_raw_args(bytes).oneway().unwrap();
    /// ```
    #[must_use]
    pub fn take_raw_args(self, raw_args: Vec<u8>) -> Self {
        Call {
            encoded_args: Cow::Owned(raw_args),
            ..self
        }
    }

    /// Fires the call: the host checks it now and queues it when this call's writes
    /// commit. Can be sent again, as many times as wanted.
    ///
    /// # Errors
    ///
    /// [`OnewayError::CallPerformFailed`] if the host refuses it; nothing is queued.
    ///
    /// ```
    /// let call = commute_cdk::Call::bounded_wait("analytics", "view").with_arg("home");
    /// call.oneway().unwrap();
    /// call.oneway().unwrap();
    /// assert_eq!(commute_cdk::testing::take_pure_calls().len(), 2);
    /// ```
    pub fn oneway(&self) -> Result<(), OnewayError> {
        call_pure_raw(self.canister, self.method, &self.encoded_args)?;
        Ok(())
    }
}
