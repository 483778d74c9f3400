//! Safe wrappers of every raw import in [`crate::sys`], over byte slices.
//!
//! This is the only module that calls `sys`; each call states why its pointers are valid.
//! Names and keys are byte strings (`docs/modes.md`); the typed layers above encode them.

use crate::sys;

/// A slice as the `(ptr, len)` pair the ABI takes.
fn raw(bytes: &[u8]) -> (usize, usize) {
    (bytes.as_ptr() as usize, bytes.len())
}

/// The call's Candid argument bytes.
pub(crate) fn msg_arg_data() -> Vec<u8> {
    // SAFETY: no pointers.
    let len = unsafe { sys::msg_arg_data_size() };
    let mut buf = Vec::with_capacity(len);
    // SAFETY: `buf` has capacity for `len` bytes, which the host writes in full.
    unsafe {
        sys::msg_arg_data_copy(buf.as_mut_ptr() as usize, 0, len);
        buf.set_len(len);
    }
    buf
}

/// The caller's principal bytes.
pub(crate) fn msg_caller() -> Vec<u8> {
    // SAFETY: no pointers.
    let len = unsafe { sys::msg_caller_size() };
    let mut buf = Vec::with_capacity(len);
    // SAFETY: `buf` has capacity for `len` bytes, which the host writes in full.
    unsafe {
        sys::msg_caller_copy(buf.as_mut_ptr() as usize, 0, len);
        buf.set_len(len);
    }
    buf
}

/// This canister's principal bytes.
pub(crate) fn canister_self() -> Vec<u8> {
    // SAFETY: no pointers.
    let len = unsafe { sys::canister_self_size() };
    let mut buf = Vec::with_capacity(len);
    // SAFETY: `buf` has capacity for `len` bytes, which the host writes in full.
    unsafe {
        sys::canister_self_copy(buf.as_mut_ptr() as usize, 0, len);
        buf.set_len(len);
    }
    buf
}

/// Appends `data` to the reply.
pub(crate) fn msg_reply_data_append(data: &[u8]) {
    let (ptr, len) = raw(data);
    // SAFETY: `data` is valid for `len` bytes.
    unsafe { sys::msg_reply_data_append(ptr, len) }
}

/// Sends the reply built so far.
pub(crate) fn msg_reply() {
    // SAFETY: no pointers.
    unsafe { sys::msg_reply() }
}

/// Rejects the call with `message`.
pub(crate) fn msg_reject(message: &str) {
    let (ptr, len) = raw(message.as_bytes());
    // SAFETY: `message` is valid for `len` bytes.
    unsafe { sys::msg_reject(ptr, len) }
}

/// Ends the call with `message`.
pub(crate) fn trap(message: &str) -> ! {
    let (ptr, len) = raw(message.as_bytes());
    // SAFETY: `message` is valid for `len` bytes.
    unsafe { sys::trap(ptr, len) };
    // The host does not return from `trap` (natively, it panics).
    unreachable!("ic0.trap returned")
}

/// Prints `message` to the host's log.
pub(crate) fn debug_print(message: &str) {
    let (ptr, len) = raw(message.as_bytes());
    // SAFETY: `message` is valid for `len` bytes.
    unsafe { sys::debug_print(ptr, len) }
}

/// Nanoseconds since the epoch at which the call was accepted.
pub(crate) fn time() -> u64 {
    // SAFETY: no pointers.
    unsafe { sys::time() }
}

/// Adds `delta` to counter `name`, entry `key`.
pub(crate) fn counter_add(name: &[u8], key: &[u8], delta: i64) {
    let ((np, nl), (kp, kl)) = (raw(name), raw(key));
    // SAFETY: `name` and `key` are valid for their lengths.
    unsafe { sys::counter_add(np, nl, kp, kl, delta) }
}

/// Sets `key` to `value` in map `name`.
pub(crate) fn map_put(name: &[u8], key: &[u8], value: &[u8]) {
    let ((np, nl), (kp, kl), (vp, vl)) = (raw(name), raw(key), raw(value));
    // SAFETY: `name`, `key` and `value` are valid for their lengths.
    unsafe { sys::map_put(np, nl, kp, kl, vp, vl) }
}

/// Removes `key` from map `name`.
pub(crate) fn map_remove(name: &[u8], key: &[u8]) {
    let ((np, nl), (kp, kl)) = (raw(name), raw(key));
    // SAFETY: `name` and `key` are valid for their lengths.
    unsafe { sys::map_remove(np, nl, kp, kl) }
}

/// Appends `value` to list `name`.
pub(crate) fn list_push(name: &[u8], value: &[u8]) {
    let ((np, nl), (vp, vl)) = (raw(name), raw(value));
    // SAFETY: `name` and `value` are valid for their lengths.
    unsafe { sys::list_push(np, nl, vp, vl) }
}

/// Fires a pure call; the host's status code (0: queued).
pub(crate) fn call_pure(canister: &str, method: &str, arg: &[u8]) -> i32 {
    let ((cp, cl), (mp, ml), (ap, al)) =
        (raw(canister.as_bytes()), raw(method.as_bytes()), raw(arg));
    // SAFETY: `canister`, `method` and `arg` are valid for their lengths.
    unsafe { sys::call_pure(cp, cl, mp, ml, ap, al) }
}

/// The value of counter `name`, entry `key` (0 if never written).
pub(crate) fn counter_get(name: &[u8], key: &[u8]) -> i128 {
    let ((np, nl), (kp, kl)) = (raw(name), raw(key));
    let mut out = [0u8; 16];
    // SAFETY: `name` and `key` are valid for their lengths; `out` for the 16 bytes written.
    unsafe { sys::counter_get(np, nl, kp, kl, out.as_mut_ptr() as usize) };
    i128::from_le_bytes(out)
}

/// Reads a value whose length is not known in advance: `read(dst, cap)` returns the
/// length (or -1 for none) and fills `dst` only if the length fits `cap`. Starts with
/// `hint` bytes of room and retries once with the exact length if that was too small.
fn read_sized(hint: usize, mut read: impl FnMut(usize, usize) -> i32) -> Option<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(hint);
    loop {
        let len = read(buf.as_mut_ptr() as usize, buf.capacity());
        let len = usize::try_from(len).ok()?;
        if len <= buf.capacity() {
            // SAFETY: the host wrote `len` bytes into `buf`, which has room for them.
            unsafe { buf.set_len(len) };
            return Some(buf);
        }
        buf.reserve_exact(len);
    }
}

/// The value of `key` in map `name`, if any; `hint` is the expected size.
pub(crate) fn map_get(name: &[u8], key: &[u8], hint: usize) -> Option<Vec<u8>> {
    let ((np, nl), (kp, kl)) = (raw(name), raw(key));
    read_sized(hint, |dst, cap| {
        // SAFETY: `name` and `key` are valid for their lengths; `dst` for `cap` bytes.
        unsafe { sys::map_get(np, nl, kp, kl, dst, cap) }
    })
}

/// Whether map `name` has `key`.
pub(crate) fn map_contains(name: &[u8], key: &[u8]) -> bool {
    let ((np, nl), (kp, kl)) = (raw(name), raw(key));
    // SAFETY: `name` and `key` are valid for their lengths; with `cap` 0 nothing is
    // written, so any `dst` will do.
    unsafe { sys::map_get(np, nl, kp, kl, 0, 0) >= 0 }
}

/// The first key of map `name` greater than `after` (`None`: the first key), if any.
pub(crate) fn map_next_key(name: &[u8], after: Option<&[u8]>, hint: usize) -> Option<Vec<u8>> {
    let (np, nl) = raw(name);
    let (ap, al) = match after {
        Some(after) => (after.as_ptr() as usize, after.len() as isize),
        None => (0, -1),
    };
    read_sized(hint, |dst, cap| {
        // SAFETY: `name` and `after` (if any) are valid for their lengths; `dst` for `cap`.
        unsafe { sys::map_next_key(np, nl, ap, al, dst, cap) }
    })
}

/// The number of values in list `name`.
pub(crate) fn list_len(name: &[u8]) -> u64 {
    let (np, nl) = raw(name);
    // SAFETY: `name` is valid for its length.
    let len = unsafe { sys::list_len(np, nl) };
    u64::try_from(len).unwrap_or(0)
}

/// Value `index` of list `name`, if in range.
pub(crate) fn list_get(name: &[u8], index: u64, hint: usize) -> Option<Vec<u8>> {
    let index = i64::try_from(index).ok()?;
    let (np, nl) = raw(name);
    read_sized(hint, |dst, cap| {
        // SAFETY: `name` is valid for its length; `dst` for `cap` bytes.
        unsafe { sys::list_get(np, nl, index, dst, cap) }
    })
}
