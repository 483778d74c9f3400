//! A guest that imports every function of the commute ABI, each through the SDK's raw
//! [`commute_cdk::sys`] declarations, so that a test can compare the compiled wasm's
//! import section with `commute_abi::IMPORTS` (and a host can link it to check that it
//! defines every import with the right type).
//!
//! Its one method, `probe` (an update), calls each import with null pointers and zero
//! lengths, but only when its argument is exactly [`ARMED_ARG_LEN`] bytes long; an
//! ordinary call (`()`, 6 bytes) does nothing and replies `()`.
//!
//! ```
//! // Natively the probe is disarmed by the default empty-tuple argument.
//! commute_abi_probe::probe();
//! ```

use commute_cdk::sys;

/// The argument length that makes `probe` call every import.
///
/// ```
/// assert_eq!(commute_abi_probe::ARMED_ARG_LEN, 42);
/// ```
pub const ARMED_ARG_LEN: usize = 42;

/// Calls every import if armed; replies `()` if not.
///
/// ```
/// commute_abi_probe::probe();
/// ```
#[cfg_attr(target_arch = "wasm32", unsafe(export_name = "canister_update probe"))]
pub extern "C" fn probe() {
    // SAFETY: no pointers.
    let armed = unsafe { sys::msg_arg_data_size() } == ARMED_ARG_LEN;
    if !armed {
        commute_cdk::api::msg_reply(b"DIDL\x00\x00");
        return;
    }
    // SAFETY: every length is 0 and every capacity 0, so no memory is read or written
    // except where the ABI writes fixed sizes (counter_get writes 16 bytes to `buf`).
    unsafe {
        let mut buf = [0u8; 16];
        let dst = buf.as_mut_ptr() as usize;
        sys::msg_arg_data_copy(dst, 0, 0);
        sys::msg_caller_size();
        sys::msg_caller_copy(dst, 0, 0);
        sys::canister_self_size();
        sys::canister_self_copy(dst, 0, 0);
        sys::time();
        sys::debug_print(dst, 0);
        sys::counter_add(dst, 0, dst, 0, 0);
        sys::map_put(dst, 0, dst, 0, dst, 0);
        sys::map_remove(dst, 0, dst, 0);
        sys::list_push(dst, 0, dst, 0);
        sys::call_pure(dst, 0, dst, 0, dst, 0);
        sys::counter_get(dst, 0, dst, 0, dst);
        sys::map_get(dst, 0, dst, 0, dst, 0);
        sys::map_next_key(dst, 0, dst, -1, dst, 0);
        sys::list_len(dst, 0);
        sys::list_get(dst, 0, 0, dst, 0);
        sys::msg_reply_data_append(dst, 0);
        sys::msg_reject(dst, 0);
        sys::msg_reply();
        sys::trap(dst, 0);
    }
}

commute_cdk::export_candid!("probe.did");
