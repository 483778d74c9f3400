//! The example canisters of commute, built from source to wasm32 when this crate builds.
//!
//! The build script runs a nested `cargo build --release --target wasm32-unknown-unknown`
//! of the canister crates beside it (in `target/wasm-examples`), and this crate embeds the
//! results with their `.did` files:
//!
//! | canister | what it shows |
//! | --- | --- |
//! | [`LOGGER`] | a pure update keyed by user: per-user counters, last event per user, an event list |
//! | [`ANALYTICS`] | unkeyed pure updates (page views), a CPU-bound pure method, `canister_init` |
//! | [`AUDIT`] | a pure update keyed by two accounts that fires `call_pure` at the logger; an ordinary update; its `.did` derived from the code |
//! | [`ABI_PROBE`] | imports every function of the ABI, to test linkers |
//!
//! ```
//! use commute_examples::{ALL, LOGGER};
//!
//! assert!(LOGGER.wasm.starts_with(b"\0asm"));
//! assert!(LOGGER.did.contains("pure_update key(user)"));
//! assert_eq!(ALL.map(|c| c.name), ["logger", "analytics", "audit"]);
//! ```
//!
//! Building needs the wasm32 target: `rustup target add wasm32-unknown-unknown`. After
//! `cargo build`, the modules are also at
//! `target/wasm-examples/wasm32-unknown-unknown/release/{logger,analytics,audit}.wasm`, so
//! the CLI can install them by path:
//!
//! ```text
//! commute install logger --wasm target/wasm-examples/wasm32-unknown-unknown/release/logger.wasm \
//!     --did examples/logger/logger.did
//! ```

/// One example canister: its name, its compiled wasm, and its `.did`.
///
/// ```
/// let audit = commute_examples::AUDIT;
/// assert_eq!(audit.name, "audit");
/// assert!(std::path::Path::new(audit.wasm_path).exists());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canister {
    /// The canister's crate name, also the name the examples install it under (the audit
    /// canister calls the logger as `"logger"`).
    pub name: &'static str,
    /// The wasm module, built from source for wasm32-unknown-unknown. Its
    /// `icp:public candid:service` custom section holds [`did`](Self::did), or (the
    /// audit) its `export_candid!()` derives it.
    pub wasm: &'static [u8],
    /// Where the wasm module is on disk (in this build's `OUT_DIR`), for tests that drive
    /// the `commute` binary.
    pub wasm_path: &'static str,
    /// The `.did` interface, with commute's `pure_update` annotations (the audit's: what it
    /// derives, in the standard form).
    pub did: &'static str,
    /// Where the `.did` is on disk.
    pub did_path: &'static str,
}

impl Canister {
    /// The `.did` as `Host::install` takes it: its file name and its text.
    pub fn did_file(&self) -> Option<(&'static str, &'static str)> {
        Some((self.did_path, self.did))
    }
}

/// Declares a [`Canister`] built by `build.rs` from the crate at `$dir`.
macro_rules! canister {
    ($name:literal, $wasm:literal, $dir:literal, $did:literal) => {
        Canister {
            name: $name,
            wasm: include_bytes!(concat!(env!("OUT_DIR"), "/", $wasm)),
            wasm_path: concat!(env!("OUT_DIR"), "/", $wasm),
            did: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $did)),
            did_path: concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $did),
        }
    };
}

/// The logger: `log(user, event)`, a pure update keyed by `user`; queries `count`,
/// `last_event`, `events_len`, `events`.
///
/// ```
/// assert!(commute_examples::LOGGER.did.contains("log : (user : principal, event : text) -> () pure_update key(user);"));
/// ```
pub const LOGGER: Canister = canister!("logger", "logger.wasm", "logger", "logger.did");

/// Analytics: `view(page)`, an unkeyed pure update; `work(key, rounds)`, a CPU-bound pure
/// update keyed by `key`; queries `views`, `total_views`, `work_done`, `work_checksum`,
/// `installs`; an init that counts installs.
///
/// ```
/// assert!(commute_examples::ANALYTICS.did.contains("view : (page : text) -> () pure_update;"));
/// ```
pub const ANALYTICS: Canister =
    canister!("analytics", "analytics.wasm", "analytics", "analytics.did");

/// The audit trail: `record(from, to, amount)`, a pure update keyed by both accounts that
/// also fires `call_pure("logger", "log", ..)`; queries `sent`, `received`,
/// `transfers_len`, `transfers`, `note`; the update `set_note`. Its `.did` is derived
/// from the code (`export_candid!()`); `audit.did` is a copy a test keeps equal.
///
/// ```
/// assert!(commute_examples::AUDIT.did.contains("// @pure_update key(from, to)\n"));
/// ```
pub const AUDIT: Canister = canister!("audit", "audit.wasm", "audit", "audit.did");

/// A guest that imports every function of the ABI (`commute_abi::IMPORTS`), for tests of
/// a host's linker. Its update `probe` calls them all when its argument is 42 bytes long,
/// and otherwise replies `()`.
///
/// ```
/// assert!(commute_examples::ABI_PROBE.did.contains("probe : () -> ()"));
/// ```
pub const ABI_PROBE: Canister = canister!(
    "commute-abi-probe",
    "commute_abi_probe.wasm",
    "../guest-sdk/abi-probe",
    "probe.did"
);

/// The three example canisters, in the order they are best installed (the audit canister
/// logs to the logger).
///
/// ```
/// for canister in commute_examples::ALL {
///     assert!(canister.wasm.len() > 8, "{} is built", canister.name);
/// }
/// ```
pub const ALL: [Canister; 3] = [LOGGER, ANALYTICS, AUDIT];
