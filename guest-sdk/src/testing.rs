//! Native unit testing of canister code (off wasm32 only).
//!
//! Off wasm32 the SDK's imports are served by an in-memory host, one per thread (and so
//! one per `#[test]`). Call the canister's `#[query]`/`#[update]`/`#[pure_update]`
//! functions directly; each enters its mode while it runs, so reading state in a pure
//! update or writing in a query panics the way the host traps. This module sets what the
//! host would provide (caller, time, argument bytes) and shows what the code did (reply,
//! fired pure calls, debug prints).
//!
//! Writes apply at once and are not rolled back when a call panics; calls run one after
//! another, which is the serial order the host's parallel merge is equivalent to.
//!
//! # Example
//!
//! ```
//! use commute_cdk::{api, pure_update, testing, Principal};
//!
//! #[pure_update]
//! fn greet(name: String) {
//!     commute_cdk::call_pure("logger", "log", &(api::msg_caller(), name)).unwrap();
//! }
//!
//! let alice = Principal::from_slice(&[1, 2, 3]);
//! testing::set_caller(alice);
//! greet("hi".into());
//! let calls = testing::take_pure_calls();
//! assert_eq!(calls[0].method, "log");
//! let (who, what): (Principal, String) = calls[0].decode();
//! assert_eq!((who, what.as_str()), (alice, "hi"));
//! ```

use candid::utils::ArgumentDecoder;
use candid::Principal;
pub use commute_abi::Mode;

use crate::native::{self, State};

/// How a call ended its conversation with the caller.
///
/// ```
/// use commute_cdk::testing::{self, Reply};
///
/// commute_cdk::api::msg_reply(b"DIDL\0\0");
/// assert_eq!(testing::take_reply(), Some(Reply::Data(b"DIDL\0\0".to_vec())));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `msg_reply` with these bytes.
    Data(Vec<u8>),
    /// `msg_reject` with this message.
    Reject(String),
}

/// A pure call fired with `call_pure` (and so `Call::oneway`).
///
/// ```
/// use commute_cdk::testing;
///
/// commute_cdk::call_pure("analytics", "view", &("home",)).unwrap();
/// let call = &testing::take_pure_calls()[0];
/// assert_eq!((call.canister.as_str(), call.method.as_str()), ("analytics", "view"));
/// assert_eq!(call.decode::<(String,)>().0, "home");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PureCall {
    /// The target canister's installed name.
    pub canister: String,
    /// The method.
    pub method: String,
    /// The Candid argument bytes.
    pub arg: Vec<u8>,
}

impl PureCall {
    /// Decodes the arguments as the tuple `T`.
    ///
    /// # Panics
    ///
    /// If the arguments do not decode as `T`.
    ///
    /// ```
    /// commute_cdk::call_pure("logger", "log", &(7u64, "x")).unwrap();
    /// let (n, s): (u64, String) = commute_cdk::testing::take_pure_calls()[0].decode();
    /// assert_eq!((n, s.as_str()), (7, "x"));
    /// ```
    pub fn decode<T: for<'a> ArgumentDecoder<'a>>(&self) -> T {
        candid::decode_args(&self.arg).unwrap_or_else(|e| {
            panic!(
                "arguments of {}.{} do not decode as {}: {e}",
                self.canister,
                self.method,
                std::any::type_name::<T>()
            )
        })
    }
}

/// Forgets everything: stable structures, context, replies, calls, prints.
///
/// ```
/// use commute_cdk::{stable::Counter, testing};
///
/// Counter::init("c").add(1);
/// testing::reset();
/// assert_eq!(Counter::init("c").get(), 0);
/// ```
pub fn reset() {
    native::with(|s| *s = State::default());
}

/// Sets the principal `msg_caller` returns (default: the anonymous principal).
///
/// ```
/// use commute_cdk::{api, testing, Principal};
///
/// testing::set_caller(Principal::management_canister());
/// assert_eq!(api::msg_caller(), Principal::management_canister());
/// ```
pub fn set_caller(caller: Principal) {
    native::with(|s| s.caller = caller.as_slice().to_vec());
}

/// Sets the principal `canister_self` returns (default: `rrkah-fqaaa-aaaaa-aaaaq-cai`).
///
/// ```
/// use commute_cdk::{api, testing, Principal};
///
/// let me = Principal::from_slice(&[9]);
/// testing::set_canister_self(me);
/// assert_eq!(api::canister_self(), me);
/// ```
pub fn set_canister_self(id: Principal) {
    native::with(|s| s.canister_self = id.as_slice().to_vec());
}

/// Sets the nanosecond timestamp `time` returns (default: 0).
///
/// ```
/// commute_cdk::testing::set_time(42);
/// assert_eq!(commute_cdk::api::time(), 42);
/// ```
pub fn set_time(nanos: u64) {
    native::with(|s| s.time = nanos);
}

/// Sets the raw Candid argument bytes `msg_arg_data` returns (default: the empty tuple).
///
/// ```
/// let bytes = candid::encode_args((1u8,)).unwrap();
/// commute_cdk::testing::set_arg_data(bytes.clone());
/// assert_eq!(commute_cdk::api::msg_arg_data(), bytes);
/// ```
pub fn set_arg_data(bytes: Vec<u8>) {
    native::with(|s| s.arg = bytes);
}

/// Takes the reply or reject of the last call, if it sent one, so the next call may reply.
///
/// ```
/// use commute_cdk::testing::{self, Reply};
///
/// commute_cdk::api::msg_reject("no");
/// assert_eq!(testing::take_reply(), Some(Reply::Reject("no".into())));
/// assert_eq!(testing::take_reply(), None);
/// ```
pub fn take_reply() -> Option<Reply> {
    native::with(|s| {
        s.reply_buf.clear();
        s.reply.take()
    })
}

/// Takes the pure calls fired so far, in order.
///
/// ```
/// commute_cdk::call_pure("logger", "log", &()).unwrap();
/// assert_eq!(commute_cdk::testing::take_pure_calls().len(), 1);
/// assert!(commute_cdk::testing::take_pure_calls().is_empty());
/// ```
pub fn take_pure_calls() -> Vec<crate::testing::PureCall> {
    native::with(|s| std::mem::take(&mut s.calls))
}

/// Makes every later well-formed `call_pure` return `code` (0, the default, queues it;
/// non-zero refuses it, as the host does for an unknown canister or method). Natively,
/// ill-formed calls (a bad canister name, an empty method, non-Candid bytes) are always
/// refused.
///
/// ```
/// use commute_cdk::call::call_pure_status::NO_SUCH_CANISTER;
///
/// commute_cdk::testing::set_call_pure_status(NO_SUCH_CANISTER);
/// assert!(commute_cdk::call_pure("logger", "log", &()).is_err());
/// ```
pub fn set_call_pure_status(code: i32) {
    native::with(|s| s.call_pure_status = code);
}

/// Takes the messages printed with `debug_print` (and `println!`) so far.
///
/// ```
/// commute_cdk::println!("{} + {}", 1, 2);
/// assert_eq!(commute_cdk::testing::take_debug_prints(), ["1 + 2"]);
/// ```
pub fn take_debug_prints() -> Vec<String> {
    native::with(|s| std::mem::take(&mut s.prints))
}

/// Runs `f` as the method `method` of mode `mode`: imports the mode forbids panic.
///
/// ```
/// use commute_cdk::testing::{self, Mode};
/// use commute_cdk::stable::Counter;
///
/// let read = std::panic::catch_unwind(|| {
///     testing::with_mode(Mode::PureUpdate, "peek", || Counter::init("c").get())
/// });
/// assert!(read.is_err());
/// ```
pub fn with_mode<R>(mode: Mode, method: &str, f: impl FnOnce() -> R) -> R {
    let _guard = crate::__private::enter(mode, method);
    f()
}
