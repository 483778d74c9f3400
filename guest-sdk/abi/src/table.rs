//! [`IMPORTS`]: the table of `docs/guest-abi.md`, the one place the ABI's imports are written down.

use crate::import::{Class, Import, Module, Param, ValType};

use ValType::{I32, I64};

/// Shorthand for a parameter list: `params!(name_ptr, name_len, delta: I64)`; a name
/// without a type is an `I32` (pointers and lengths are i32 into memory 0).
macro_rules! params {
    ($($name:ident $(: $ty:ident)?),* $(,)?) => {
        &[$(Param { name: stringify!($name), ty: params!(@ty $($ty)?) }),*]
    };
    (@ty) => { I32 };
    (@ty $ty:ident) => { $ty };
}

/// Shorthand for one row of the table.
macro_rules! import {
    ($module:ident . $name:ident ( $($params:tt)* ) $(-> $result:ident)?, $class:ident, $doc:literal) => {
        Import {
            module: Module::$module,
            name: stringify!($name),
            params: params!($($params)*),
            results: &[$($result)?],
            class: Class::$class,
            doc: $doc,
        }
    };
}

/// Every import a commute canister may use, `ic0` first, each module in the order of
/// `docs/guest-abi.md`.
///
/// Invariant (A): `(module, name)` is unique. Invariant (B): the `ic0` rows have the
/// Internet Computer System API's names and 32-bit signatures. Both are tested, and a test
/// compiles a guest to wasm and checks its imports against these rows.
///
/// ```
/// use commute_abi::{Module, IMPORTS};
///
/// assert_eq!(IMPORTS.iter().filter(|i| i.module == Module::Ic0).count(), 12);
/// assert_eq!(IMPORTS.iter().filter(|i| i.module == Module::Commute).count(), 10);
/// ```
pub const IMPORTS: &[Import] = &[
    // ic0: the IC System API subset.
    import!(Ic0.msg_arg_data_size() -> I32, Arg, "length of the call's Candid argument bytes"),
    import!(Ic0.msg_arg_data_copy(dst, offset, size), Arg, "copies argument bytes [offset, offset + size) to dst"),
    import!(Ic0.msg_caller_size() -> I32, Context, "length of the caller's principal bytes"),
    import!(Ic0.msg_caller_copy(dst, offset, size), Context, "copies caller principal bytes [offset, offset + size) to dst"),
    import!(Ic0.msg_reply_data_append(src, size), Reply, "appends bytes to the reply"),
    import!(Ic0.msg_reply(), Reply, "sends the reply built so far"),
    import!(Ic0.msg_reject(src, size), Reply, "rejects the call with a text message"),
    import!(Ic0.trap(src, size), Diagnostics, "ends the call with an error message; its writes are dropped"),
    import!(Ic0.debug_print(src, size), Diagnostics, "prints a text message to the host's log"),
    import!(Ic0.time() -> I64, Context, "nanoseconds since the epoch at which the call was accepted"),
    import!(Ic0.canister_self_size() -> I32, Context, "length of this canister's principal bytes"),
    import!(Ic0.canister_self_copy(dst, offset, size), Context, "copies this canister's principal bytes [offset, offset + size) to dst"),
    // commute: stable structures and fire-and-forget calls.
    import!(Commute.counter_add(name_ptr, name_len, key_ptr, key_len, delta: I64), Write, "adds delta to the counter entry (name, key); the sum wraps at 2^127"),
    import!(Commute.map_put(name_ptr, name_len, key_ptr, key_len, val_ptr, val_len), Write, "sets key to value in map name"),
    import!(Commute.map_remove(name_ptr, name_len, key_ptr, key_len), Write, "removes key from map name"),
    import!(Commute.list_push(name_ptr, name_len, val_ptr, val_len), Write, "appends value to list name"),
    import!(Commute.call_pure(canister_ptr, canister_len, method_ptr, method_len, arg_ptr, arg_len) -> I32, Call, "fires a pure call at the canister installed under that name: 0 queued, non-zero invalid"),
    import!(Commute.counter_get(name_ptr, name_len, key_ptr, key_len, dst), Read, "writes the counter entry's value to dst as 16 bytes, little-endian i128 (0 if never written)"),
    import!(Commute.map_get(name_ptr, name_len, key_ptr, key_len, dst, cap) -> I32, Read, "value length, or -1 if absent; copies the value to dst only if it fits cap"),
    import!(Commute.map_next_key(name_ptr, name_len, after_ptr, after_len, dst, cap) -> I32, Read, "the first key > after (after_len -1 = from the start): its length, or -1; copies it only if it fits cap"),
    import!(Commute.list_len(name_ptr, name_len) -> I64, Read, "number of values in list name"),
    import!(Commute.list_get(name_ptr, name_len, index: I64, dst, cap) -> I32, Read, "length of value index, or -1 if out of range; copies it only if it fits cap"),
];

/// The import `module.name`, if the ABI has one. The host's install check refuses every
/// import for which this returns `None`.
///
/// ```
/// assert!(commute_abi::import("ic0", "msg_reply").is_some());
/// assert!(commute_abi::import("ic0", "stable64_write").is_none());
/// assert!(commute_abi::import("env", "map_get").is_none());
/// ```
pub fn import(module: &str, name: &str) -> Option<&'static Import> {
    IMPORTS
        .iter()
        .find(|i| i.module.as_str() == module && i.name == name)
}
