//! What the entry-point macros expand to. Not API: names and signatures may change.

use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::DecoderConfig;

pub use commute_abi::Mode;

pub use crate::did::{Arg, Service};

use crate::{api, imports};

/// How much of the argument bytes the decoder may skip (unknown fields, extra
/// arguments) before giving up, as ic-cdk sets it: a guard against decoding bombs.
const SKIPPING_QUOTA: usize = 10_000;

/// Runs an entry point's body. On wasm it first installs a panic hook that traps with the
/// panic's message (the host then reports it). Natively it enters `mode` for `method`.
pub fn entry(mode: Mode, method: &str, body: impl FnOnce()) {
    #[cfg(target_arch = "wasm32")]
    {
        let _ = (mode, method);
        std::panic::set_hook(Box::new(|info| imports::trap(&info.to_string())));
        body();
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _guard = enter(mode, method);
        body();
    }
}

/// Decodes the call's arguments as `T`, trapping with a message naming the method if
/// they do not fit.
pub fn decode_args<'a, T: ArgumentDecoder<'a>>(bytes: &'a [u8], method: &str) -> T {
    let mut config = DecoderConfig::new();
    config.set_skipping_quota(SKIPPING_QUOTA);
    candid::utils::decode_args_with_config(bytes, &config)
        .unwrap_or_else(|e| api::trap(format!("failed to decode the arguments of `{method}`: {e}")))
}

/// Encodes `result` and replies with it, trapping if it does not encode.
pub fn reply<T: ArgumentEncoder>(result: T, method: &str) {
    let bytes = candid::encode_args(result)
        .unwrap_or_else(|e| api::trap(format!("failed to encode the reply of `{method}`: {e}")));
    imports::msg_reply_data_append(&bytes);
    imports::msg_reply();
}

/// A guard refused the call: rejects it (query, update) or traps (pure update, which has
/// no caller waiting for a reply).
pub fn guard_failed(mode: Mode, method: &str, message: String) {
    match mode {
        Mode::PureUpdate | Mode::Init => api::trap(format!("guard refused `{method}`: {message}")),
        Mode::Query | Mode::Update | Mode::Oneway => imports::msg_reject(&message),
    }
}

/// Natively: the mode of the innermost running entry point, restored when dropped.
#[cfg(not(target_arch = "wasm32"))]
#[must_use = "the mode is left when the guard drops"]
pub struct ModeGuard {
    previous: Option<(Mode, String)>,
}

/// Natively: enters `mode` for `method` until the guard drops.
#[cfg(not(target_arch = "wasm32"))]
pub fn enter(mode: Mode, method: &str) -> ModeGuard {
    let previous = crate::native::with(|s| s.mode.replace((mode, method.to_owned())));
    ModeGuard { previous }
}

#[cfg(not(target_arch = "wasm32"))]
impl Drop for ModeGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        crate::native::with(|s| s.mode = previous);
    }
}
