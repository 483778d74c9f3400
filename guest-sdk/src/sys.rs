//! The raw imports of the commute ABI: one `unsafe fn` per row of `commute_abi::IMPORTS`.
//!
//! On wasm32 these are `extern` declarations linked from the host's modules `ic0` and
//! `commute`. Elsewhere they are served by an in-memory implementation (one state per
//! thread) with the same signatures, so everything built on them runs in native unit tests.
//!
//! Pointers and lengths are `usize` (an `i32` on wasm32); other integers have their ABI
//! type. Prefer the safe layers ([`api`](crate::api), [`stable`](crate::stable),
//! [`call`](crate::call)); these exist for what they do not cover.
//!
//! # Safety
//!
//! Every pointer/length pair must denote memory valid for reads (sources) or writes
//! (destinations) of that many bytes, for the duration of the call.
//!
//! # Example
//!
//! ```
//! use commute_cdk::sys;
//!
//! let name = b"hits";
//! // SAFETY: `name` is valid for `name.len()` bytes; an empty key may dangle.
//! unsafe { sys::counter_add(name.as_ptr() as usize, name.len(), 1 as usize, 0, 5) };
//! let mut out = [0u8; 16];
//! // SAFETY: `out` is valid for the 16 bytes counter_get writes.
//! unsafe { sys::counter_get(name.as_ptr() as usize, name.len(), 1 as usize, 0, out.as_mut_ptr() as usize) };
//! assert_eq!(i128::from_le_bytes(out), 5);
//! ```

/// Declares the imports once: on wasm32 as `extern` items of their wasm module, natively
/// as functions that forward to `crate::native`, and (for the tests) as a list of
/// signatures to compare with `commute_abi::IMPORTS`.
macro_rules! imports {
    ($(
        #[link(wasm_import_module = $module:literal)]
        {
            $(
                $(#[doc = $doc:literal])*
                fn $name:ident($($arg:ident: $ty:ident),* $(,)?) $(-> $ret:ident)?;
            )*
        }
    )*) => {
        $(
            #[cfg(target_arch = "wasm32")]
            #[link(wasm_import_module = $module)]
            unsafe extern "C" {
                $(
                    $(#[doc = $doc])*
                    pub fn $name($($arg: $ty),*) $(-> $ret)?;
                )*
            }

            $(
                $(#[doc = $doc])*
                ///
                /// # Safety
                ///
                /// See the [module documentation](self).
                ///
                /// # Example
                ///
                /// ```
                /// // The row of the ABI table this declaration implements:
                #[doc = concat!("let row = commute_abi::import(\"", $module, "\", \"", stringify!($name), "\").unwrap();")]
                #[doc = concat!("assert_eq!(row.params.len(), ", imports!(@count $($arg)*), ");")]
                /// ```
                #[cfg(not(target_arch = "wasm32"))]
                pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: the caller upholds this function's contract, which is the
                    // native implementation's.
                    unsafe { crate::native::$name($($arg),*) }
                }
            )*
        )*

        /// The declared signatures, `(module, name, parameter types, result type)`, with
        /// Rust type names, for the test that compares them with `commute_abi::IMPORTS`.
        #[cfg(test)]
        pub(crate) const DECLARED: &[(&str, &str, &[&str], Option<&str>)] = &[
            $($(
                ($module, stringify!($name), &[$(stringify!($ty)),*], imports!(@ret $($ret)?)),
            )*)*
        ];
    };
    (@count) => { "0" };
    (@count $a:ident) => { "1" };
    (@count $a:ident $b:ident) => { "2" };
    (@count $a:ident $b:ident $c:ident) => { "3" };
    (@count $a:ident $b:ident $c:ident $d:ident) => { "4" };
    (@count $a:ident $b:ident $c:ident $d:ident $e:ident) => { "5" };
    (@count $a:ident $b:ident $c:ident $d:ident $e:ident $f:ident) => { "6" };
    (@ret) => { None };
    (@ret $ret:ident) => { Some(stringify!($ret)) };
}

imports! {
    #[link(wasm_import_module = "ic0")]
    {
        /// Length of the call's Candid argument bytes.
        fn msg_arg_data_size() -> usize;
        /// Copies argument bytes `[offset, offset + size)` to `dst`.
        fn msg_arg_data_copy(dst: usize, offset: usize, size: usize);
        /// Length of the caller's principal bytes.
        fn msg_caller_size() -> usize;
        /// Copies the caller's principal bytes `[offset, offset + size)` to `dst`.
        fn msg_caller_copy(dst: usize, offset: usize, size: usize);
        /// Appends `size` bytes at `src` to the reply. Traps in pure updates and init.
        fn msg_reply_data_append(src: usize, size: usize);
        /// Sends the reply built so far. Traps in pure updates and init.
        fn msg_reply();
        /// Rejects the call with the UTF-8 message at `src`. Traps in pure updates and init.
        fn msg_reject(src: usize, size: usize);
        /// Ends the call with the UTF-8 message at `src`; the call's writes are dropped.
        fn trap(src: usize, size: usize);
        /// Prints the UTF-8 message at `src` to the host's log.
        fn debug_print(src: usize, size: usize);
        /// Nanoseconds since the epoch at which the call was accepted.
        fn time() -> u64;
        /// Length of this canister's principal bytes.
        fn canister_self_size() -> usize;
        /// Copies this canister's principal bytes `[offset, offset + size)` to `dst`.
        fn canister_self_copy(dst: usize, offset: usize, size: usize);
    }
    #[link(wasm_import_module = "commute")]
    {
        /// Adds `delta` to counter `name`, entry `key`. Traps in queries.
        fn counter_add(name_ptr: usize, name_len: usize, key_ptr: usize, key_len: usize, delta: i64);
        /// Sets `key` to the value at `val_ptr` in map `name`. Traps in queries.
        fn map_put(name_ptr: usize, name_len: usize, key_ptr: usize, key_len: usize, val_ptr: usize, val_len: usize);
        /// Removes `key` from map `name`. Traps in queries.
        fn map_remove(name_ptr: usize, name_len: usize, key_ptr: usize, key_len: usize);
        /// Appends the value at `val_ptr` to list `name`. Traps in queries.
        fn list_push(name_ptr: usize, name_len: usize, val_ptr: usize, val_len: usize);
        /// Fires a pure call at the canister installed under the given name with Candid
        /// argument bytes: returns 0 if it will be queued, non-zero if it is invalid
        /// (see `commute_abi::call_pure_status`). Traps in queries.
        fn call_pure(canister_ptr: usize, canister_len: usize, method_ptr: usize, method_len: usize, arg_ptr: usize, arg_len: usize) -> i32;
        /// Writes counter `name`, entry `key` to `dst` as 16 bytes, little-endian `i128`.
        /// Traps in pure updates.
        fn counter_get(name_ptr: usize, name_len: usize, key_ptr: usize, key_len: usize, dst: usize);
        /// The length of `key`'s value in map `name`, or -1 if absent; copies the value to
        /// `dst` only if it fits `cap`. Traps in pure updates.
        fn map_get(name_ptr: usize, name_len: usize, key_ptr: usize, key_len: usize, dst: usize, cap: usize) -> i32;
        /// The length of the first key greater than `after` in map `name` (`after_len` -1:
        /// the first key), or -1; copies it to `dst` only if it fits `cap`. Traps in pure
        /// updates.
        fn map_next_key(name_ptr: usize, name_len: usize, after_ptr: usize, after_len: isize, dst: usize, cap: usize) -> i32;
        /// The number of values in list `name`. Traps in pure updates.
        fn list_len(name_ptr: usize, name_len: usize) -> i64;
        /// The length of value `index` of list `name`, or -1 if out of range; copies it to
        /// `dst` only if it fits `cap`. Traps in pure updates.
        fn list_get(name_ptr: usize, name_len: usize, index: i64, dst: usize, cap: usize) -> i32;
    }
}
