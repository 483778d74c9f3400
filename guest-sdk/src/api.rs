//! The call's context and the canister's voice: who called, who we are, what time it is,
//! printing, trapping, and (for the rare hand-written entry point) the raw argument and
//! reply bytes. Names follow ic-cdk 0.20's `ic_cdk::api`.
//!
//! ```
//! use commute_cdk::api;
//!
//! commute_cdk::testing::set_time(1_700_000_000_000_000_000);
//! let caller = api::msg_caller();
//! api::debug_print(format!("{caller} at {}", api::time()));
//! ```

use candid::Principal;

use crate::imports;

/// The principal that made this call: the submitting user, or for a child pure call, the
/// canister that fired it.
///
/// ```
/// use commute_cdk::{api, testing, Principal};
///
/// testing::set_caller(Principal::from_slice(&[1, 2, 3]));
/// assert_eq!(api::msg_caller(), Principal::from_slice(&[1, 2, 3]));
/// ```
pub fn msg_caller() -> Principal {
    Principal::from_slice(&imports::msg_caller())
}

/// This canister's principal, derived by the host from its installed name. It is the
/// caller of every pure call this canister fires.
///
/// ```
/// let me = commute_cdk::api::canister_self();
/// assert_eq!(me.to_text(), "rrkah-fqaaa-aaaaa-aaaaq-cai"); // the native default
/// ```
pub fn canister_self() -> Principal {
    Principal::from_slice(&imports::canister_self())
}

/// The time at which this call was accepted, in nanoseconds since the Unix epoch.
/// Differs from ic-cdk: it is the same on every run of the call (a re-run after a crash
/// sees the same time), and calls accepted together may share it.
///
/// ```
/// commute_cdk::testing::set_time(5);
/// assert_eq!(commute_cdk::api::time(), 5);
/// ```
pub fn time() -> u64 {
    imports::time()
}

/// Prints a message to the host's log (natively: to stdout). See also [`println!`](crate::println).
///
/// ```
/// commute_cdk::api::debug_print("hello");
/// assert_eq!(commute_cdk::testing::take_debug_prints(), ["hello"]);
/// ```
pub fn debug_print(message: impl AsRef<str>) {
    imports::debug_print(message.as_ref())
}

/// Ends the call with an error message: its writes are dropped and its outcome is
/// `trapped: MESSAGE`. Natively, panics with the message.
///
/// ```should_panic
/// commute_cdk::api::trap("invariant broken");
/// ```
pub fn trap(message: impl AsRef<str>) -> ! {
    imports::trap(message.as_ref())
}

/// The call's raw Candid argument bytes. The entry-point macros decode them for you.
///
/// ```
/// let bytes = candid::encode_args(("x",)).unwrap();
/// commute_cdk::testing::set_arg_data(bytes.clone());
/// assert_eq!(commute_cdk::api::msg_arg_data(), bytes);
/// ```
pub fn msg_arg_data() -> Vec<u8> {
    imports::msg_arg_data()
}

/// Replies with raw bytes (Candid, for a Candid caller). The `#[query]` and `#[update]`
/// macros reply for you; a call replies at most once. Traps in pure updates and init.
///
/// ```
/// use commute_cdk::testing::{self, Reply};
///
/// commute_cdk::api::msg_reply(candid::encode_one(7u64).unwrap());
/// assert_eq!(testing::take_reply(), Some(Reply::Data(candid::encode_one(7u64).unwrap())));
/// ```
pub fn msg_reply(data: impl AsRef<[u8]>) {
    imports::msg_reply_data_append(data.as_ref());
    imports::msg_reply();
}

/// Rejects the call with a message, instead of replying. Traps in pure updates and init.
///
/// ```
/// use commute_cdk::testing::{self, Reply};
///
/// commute_cdk::api::msg_reject("not allowed");
/// assert_eq!(testing::take_reply(), Some(Reply::Reject("not allowed".into())));
/// ```
pub fn msg_reject(message: impl AsRef<str>) {
    imports::msg_reject(message.as_ref())
}

/// The caller; ic-cdk 0.20 renamed it [`msg_caller`].
///
/// ```
/// #![allow(deprecated)]
/// assert_eq!(commute_cdk::api::caller(), commute_cdk::api::msg_caller());
/// ```
#[deprecated(note = "use `msg_caller`, as in ic-cdk 0.20")]
pub fn caller() -> Principal {
    msg_caller()
}

/// This canister's principal; ic-cdk 0.20 renamed it [`canister_self`].
///
/// ```
/// #![allow(deprecated)]
/// assert_eq!(commute_cdk::api::id(), commute_cdk::api::canister_self());
/// ```
#[deprecated(note = "use `canister_self`, as in ic-cdk 0.20")]
pub fn id() -> Principal {
    canister_self()
}

/// Prints a message; ic-cdk 0.20 renamed it [`debug_print`].
///
/// ```
/// #![allow(deprecated)]
/// commute_cdk::api::print("hi");
/// ```
#[deprecated(note = "use `debug_print`, as in ic-cdk 0.20")]
pub fn print(message: impl AsRef<str>) {
    debug_print(message)
}
