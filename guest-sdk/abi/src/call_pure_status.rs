//! The codes `commute.call_pure` returns.
//!
//! The ABI promises only "0 queued; non-zero: refused". These constants give the non-zero
//! values names so the host can say why and the guest SDK can report it; a guest must
//! still treat *every* non-zero value as "refused, nothing queued".
//!
//! ```
//! use commute_abi::call_pure_status;
//!
//! assert_eq!(call_pure_status::describe(call_pure_status::QUEUED), "queued");
//! assert_eq!(call_pure_status::describe(call_pure_status::NO_SUCH_CANISTER), "no canister by that name");
//! assert_eq!(call_pure_status::describe(99), "refused");
//! ```

/// The call was validated and will be queued when the caller's writes commit.
///
/// ```
/// assert_eq!(commute_abi::call_pure_status::QUEUED, 0);
/// ```
pub const QUEUED: i32 = 0;

/// No canister is installed under the target name (or the name is not a valid one).
///
/// ```
/// assert_ne!(commute_abi::call_pure_status::NO_SUCH_CANISTER, 0);
/// ```
pub const NO_SUCH_CANISTER: i32 = 1;

/// The target has no method by that name, or the method is not a `pure_update`.
///
/// ```
/// assert_ne!(commute_abi::call_pure_status::NOT_A_PURE_METHOD, 0);
/// ```
pub const NOT_A_PURE_METHOD: i32 = 2;

/// The argument bytes do not decode against the method's parameter types, or are too large.
///
/// ```
/// assert_ne!(commute_abi::call_pure_status::BAD_ARGUMENTS, 0);
/// ```
pub const BAD_ARGUMENTS: i32 = 3;

/// A short description of a status code, for error messages; `"refused"` for codes this
/// module does not name.
///
/// ```
/// use commute_abi::call_pure_status::{describe, BAD_ARGUMENTS};
///
/// assert_eq!(describe(BAD_ARGUMENTS), "arguments do not fit the method's types");
/// ```
pub const fn describe(code: i32) -> &'static str {
    match code {
        QUEUED => "queued",
        NO_SUCH_CANISTER => "no canister by that name",
        NOT_A_PURE_METHOD => "no pure_update method by that name",
        BAD_ARGUMENTS => "arguments do not fit the method's types",
        _ => "refused",
    }
}
