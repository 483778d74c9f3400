//! Ingress: checking a call before it is accepted (`docs/modes.md`).
//!
//! Everything that can be checked before a call runs is checked here, *before* it gets a
//! seq: the canister exists, the method exists and takes a seq (not a query), the arguments
//! are within the size cap and decode against the declared types. A call that fails is
//! refused with a one-line [`SubmitError`] and nothing is queued. A call that passes becomes
//! a [`QueuedCall`] with its arguments re-encoded against the declared types and its keys.

use crate::execute::{ChildCalls, Refused};
use crate::queue::{CallKind, Once, QueueError, QueuedCall, Tail};
use crate::registry::Registry;
use candid::Principal;
use commute_abi::call_pure_status as status;
use commute_did::{ArgError, CallArgs, Interface, Method, Mode};
use serde_bytes::ByteBuf;
use std::ops::Range;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Nanoseconds since the epoch: a call's `time` (`docs/guest-abi.md`).
pub fn now_nanos() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A call's arguments as the caller wrote them.
#[derive(Debug, Clone, Copy)]
pub enum Args<'a> {
    /// Candid text, e.g. `(principal "aaaaa-aa", "hi")`.
    Text(&'a str),
    /// A Candid binary message.
    Binary(&'a [u8]),
}

impl<'a> Args<'a> {
    /// The raw bytes, whichever form.
    pub fn len(&self) -> usize {
        match self {
            Args::Text(t) => t.len(),
            Args::Binary(b) => b.len(),
        }
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A call was refused; nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubmitError {
    /// No canister by that name.
    #[error("no canister `{0}` is installed")]
    UnknownCanister(String),
    /// The canister has no such method.
    #[error("canister `{canister}` has no method `{method}` (its methods: {known})")]
    UnknownMethod {
        /// The canister.
        canister: String,
        /// The method asked for.
        method: String,
        /// The canister's methods, comma-separated, so a typo is plain to see.
        known: String,
    },
    /// The method is of a mode this entry point does not take.
    #[error("`{canister}.{method}` is {} {mode} method: {hint}", article(*.mode))]
    WrongMode {
        /// The canister.
        canister: String,
        /// The method.
        method: String,
        /// Its mode.
        mode: Mode,
        /// What to do instead.
        hint: &'static str,
    },
    /// The arguments are larger than the cap.
    #[error("arguments to `{method}` are {size} bytes, over the cap of {max} bytes")]
    TooLarge {
        /// The method.
        method: String,
        /// Their size (encoded, or as text for text that is far too long to parse).
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The arguments do not fit the declared types.
    #[error(transparent)]
    Args(#[from] ArgError),
}

/// "an update", "a query".
fn article(mode: Mode) -> &'static str {
    if mode == Mode::Update {
        "an"
    } else {
        "a"
    }
}

/// Text over this many times the byte cap is refused unparsed, so no caller makes the
/// parser chew on gigabytes; real arguments are far denser.
pub const TEXT_PER_BYTE: usize = 4;

/// Checks a call of `canister.method` and builds its queue record. Pure updates, updates
/// and oneways take a seq; which of them an entry point accepts is the caller's choice.
///
/// # Errors
///
/// [`SubmitError`] naming what is wrong.
pub fn check(
    registry: &Registry,
    max_arg_bytes: usize,
    canister: &str,
    method: &str,
    args: Args<'_>,
    caller: Principal,
    time: u64,
) -> Result<QueuedCall, SubmitError> {
    let installed = registry
        .get(canister)
        .ok_or_else(|| SubmitError::UnknownCanister(canister.to_string()))?;
    installed.interface.with(|interface| {
        check_against(
            interface,
            max_arg_bytes,
            canister,
            method,
            args,
            caller,
            time,
        )
    })
}

/// The mode of `canister.method`, refused as [`check`] refuses a call of it: what an entry
/// point asks first, to route the call by its mode.
///
/// # Errors
///
/// [`SubmitError::UnknownCanister`] or [`SubmitError::UnknownMethod`].
pub fn mode(registry: &Registry, canister: &str, method: &str) -> Result<Mode, SubmitError> {
    let installed = registry
        .get(canister)
        .ok_or_else(|| SubmitError::UnknownCanister(canister.to_string()))?;
    (installed.interface).with(|interface| lookup(interface, canister, method).map(|m| m.mode))
}

/// Method `method` of `canister`, whose interface is `interface`.
///
/// # Errors
///
/// [`SubmitError::UnknownMethod`] if there is none.
pub(crate) fn lookup<'i>(
    interface: &'i Interface,
    canister: &str,
    method: &str,
) -> Result<&'i Method, SubmitError> {
    interface
        .method(method)
        .ok_or_else(|| SubmitError::unknown_method(interface, canister, method))
}

impl SubmitError {
    /// [`SubmitError::UnknownMethod`]: `canister`, whose interface is `interface`, has no
    /// `method`.
    pub fn unknown_method(interface: &Interface, canister: &str, method: &str) -> Self {
        let names: Vec<&str> = interface.methods().map(|m| m.name.as_str()).collect();
        SubmitError::UnknownMethod {
            canister: canister.to_string(),
            method: method.to_string(),
            known: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        }
    }
}

/// Checks `args` against the declared types of `method`, in whichever form they came.
pub(crate) fn decode(
    interface: &Interface,
    method: &str,
    args: Args<'_>,
) -> Result<CallArgs, ArgError> {
    match args {
        Args::Text(text) => interface.decode_text(method, text),
        Args::Binary(bytes) => interface.decode_binary(method, bytes),
    }
}

/// [`check`], once the canister's interface is at hand.
fn check_against(
    interface: &Interface,
    max_arg_bytes: usize,
    canister: &str,
    method: &str,
    args: Args<'_>,
    caller: Principal,
    time: u64,
) -> Result<QueuedCall, SubmitError> {
    let m = lookup(interface, canister, method)?;
    let kind = match m.mode {
        Mode::PureUpdate => CallKind::Pure,
        Mode::Update => CallKind::Update,
        Mode::Oneway => CallKind::Oneway,
        Mode::Query | Mode::CompositeQuery => {
            return Err(SubmitError::WrongMode {
                canister: canister.to_string(),
                method: method.to_string(),
                mode: m.mode,
                hint: "queries are answered at once, not queued",
            })
        }
    };
    let too_large = |size| SubmitError::TooLarge {
        method: method.to_string(),
        size,
        max: max_arg_bytes,
    };
    let over = match args {
        Args::Text(text) => text.len() > max_arg_bytes.saturating_mul(TEXT_PER_BYTE),
        Args::Binary(bytes) => bytes.len() > max_arg_bytes,
    };
    if over {
        return Err(too_large(args.len()));
    }
    let checked = decode(interface, method, args)?;
    if checked.bytes.len() > max_arg_bytes {
        return Err(too_large(checked.bytes.len()));
    }
    Ok(QueuedCall {
        canister: canister.to_string(),
        method: method.to_string(),
        kind,
        caller: ByteBuf::from(caller.as_slice().to_vec()),
        arg: ByteBuf::from(checked.bytes),
        keys: checked.keys.into_iter().map(ByteBuf::from).collect(),
        time,
    })
}

/// Accepts calls from any thread (`docs/modes.md`): checks them against the installed canisters,
/// queues them on the shared [`Tail`], and makes them durable before any seq is handed out.
/// Cheap to clone; a server's request handlers each hold one while the round loop runs.
#[derive(Clone)]
pub struct Intake {
    registry: Arc<RwLock<Arc<Registry>>>,
    tail: Tail,
    max_arg_bytes: usize,
    max_pending: u64,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("tail", &self.tail)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

impl Intake {
    /// An intake onto `tail`, checking against `registry` (which [`Intake::set_registry`]
    /// replaces after an install).
    pub fn new(
        registry: Arc<Registry>,
        tail: Tail,
        max_arg_bytes: usize,
        max_pending: u64,
    ) -> Intake {
        Intake {
            registry: Arc::new(RwLock::new(registry)),
            tail,
            max_arg_bytes,
            max_pending,
        }
    }

    /// The installed canisters, as of the last install.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes later checks see `registry`.
    pub fn set_registry(&self, registry: Arc<Registry>) {
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = registry;
    }

    /// The queue's tail.
    pub fn tail(&self) -> &Tail {
        &self.tail
    }

    /// Checks a call ([`check`]) and builds its queue record, accepted at `time`.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] naming what is wrong.
    pub fn check(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
        time: u64,
    ) -> Result<QueuedCall, SubmitError> {
        check(
            &self.registry(),
            self.max_arg_bytes,
            canister,
            method,
            args,
            caller,
            time,
        )
    }

    /// Queues checked calls under consecutive seqs, not yet durable: [`Intake::flush`]
    /// before handing the seqs out. Many appends then one flush is a group commit.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`] if the pending cap would be passed; [`QueueError::Sled`].
    /// Nothing is queued then.
    pub fn append(&self, calls: Vec<QueuedCall>) -> Result<Range<u64>, QueueError> {
        self.tail.append(calls, self.max_pending)
    }

    /// [`Intake::append`] for each of `requests`, written together ([`Tail::append_each`]):
    /// each accepted or refused whole, answered in order.
    pub fn append_each(
        &self,
        requests: Vec<Vec<QueuedCall>>,
    ) -> Vec<Result<Range<u64>, QueueError>> {
        self.tail.append_each(requests, self.max_pending)
    }

    /// Queues a checked call under `idempotency_key`, or finds the seq it was accepted under
    /// before ([`Tail::append_once`]); not yet durable, as [`Intake::append`].
    ///
    /// # Errors
    ///
    /// [`QueueError::KeyReused`], [`QueueError::Full`], [`QueueError::Sled`].
    pub fn append_once(
        &self,
        call: &QueuedCall,
        idempotency_key: &[u8],
    ) -> Result<Once, QueueError> {
        self.tail
            .append_once(call, idempotency_key, self.max_pending)
    }

    /// Makes every append so far durable.
    ///
    /// # Errors
    ///
    /// [`QueueError::Sled`] if sled fails.
    pub fn flush(&self) -> Result<(), QueueError> {
        self.tail.flush()
    }
}

/// Checks the calls a canister fires with `call_pure`, at the moment it fires them
/// (`docs/modes.md`): the same checks as ingress, and the method must be a pure update.
#[derive(Debug, Clone, Copy)]
pub struct ChildCheck<'a> {
    /// The installed canisters.
    pub registry: &'a Registry,
    /// The argument size cap.
    pub max_arg_bytes: usize,
}

impl ChildCalls for ChildCheck<'_> {
    fn validate(&self, canister: &str, method: &str, arg: &[u8]) -> Result<Vec<u8>, Refused> {
        let call = check(
            self.registry,
            self.max_arg_bytes,
            canister,
            method,
            Args::Binary(arg),
            Principal::anonymous(),
            0,
        );
        match call {
            Ok(call) if call.kind == CallKind::Pure => Ok(call.arg.into_vec()),
            Ok(_) | Err(SubmitError::UnknownMethod { .. } | SubmitError::WrongMode { .. }) => {
                Err(Refused::new(
                    status::NOT_A_PURE_METHOD,
                    format!("`{canister}` has no pure_update method `{method}`"),
                ))
            }
            Err(e @ SubmitError::UnknownCanister(_)) => {
                Err(Refused::new(status::NO_SUCH_CANISTER, e.to_string()))
            }
            Err(e) => Err(Refused::new(status::BAD_ARGUMENTS, e.to_string())),
        }
    }
}
