//! The execute stage: one call of one canister method on real wasm, under wasmtime
//! (`docs/modes.md`, `docs/limits.md`, `docs/guest-abi.md`).
//!
//! Upstream hands this stage a compiled canister, a [`Call`], a read-only [`StateView`] of
//! the committed state and a [`ChildCalls`] validator; it hands downstream an
//! [`Execution`]: the [`Outcome`], the call's [`WriteLog`] and the [`Child`] calls it
//! fired, as values. Nothing here writes to the store.
//!
//! | type | what it is |
//! | --- | --- |
//! | [`Engine`] | a `wasmtime::Engine` with the deterministic configuration below, the [`Limits`], and the linker that defines every import of [`commute_abi::IMPORTS`] |
//! | [`Compiled`] | one canister's validated, compiled module, its `InstancePre` and its warm instances; cheap to clone |
//! | [`Call`] | the inputs of one call: canister, method, export, [`Mode`], caller, argument, time |
//! | [`StateView`] | committed state as a call reads it; [`CanisterState`] is the store's |
//! | [`ChildCalls`] | validates a `call_pure` at the moment the guest makes it |
//! | [`Execution`] | what one call produced |
//!
//! # Invariants
//!
//! - (A) **Initial state.** Every call starts from the module's initial state: on a new
//!   instance from the `InstancePre`, or on a warm one reset since its last call
//!   (`execute/warm.rs`, its invariant (A)); nothing in the wasm heap or globals survives
//!   a call (`docs/modes.md`).
//! - (B) **Only the ABI.** [`Engine::compile`] refuses any import that is not a row of
//!   [`commute_abi::IMPORTS`] with that row's exact signature, and the linker defines
//!   every row, so a compiled module always links.
//! - (C) **Mode rules.** An import whose [`Class`](commute_abi::Class) is not
//!   [allowed in](commute_abi::Class::allowed_in) the call's [`Mode`] traps the call,
//!   naming the method and the import. The check is the first thing each import does.
//! - (D) **All or nothing.** A trapped call's [`Execution`] has an empty log and no
//!   children; only a call that finished keeps what it wrote and fired.
//! - (E) **Caps trap.** Fuel ([`Limits::fuel`]), argument and reply bytes
//!   ([`Limits::arg_bytes`]), the write log ([`Limits::log`], checked by
//!   [`WriteLog::push`] as each op is issued) and child calls ([`Limits::child_calls`])
//!   trap the call that goes over; memory ([`Limits::memory_bytes`]) makes `memory.grow`
//!   return -1, and fails the call if the module's initial memory is already over.
//! - (F) **Own writes are visible.** In a mode that both reads and writes (update, oneway,
//!   init) every read sees the committed state with the call's own log applied on top
//!   ([`overlay`]).
//! - (G) **The host never panics on guest input.** Every pointer and length a guest
//!   passes is bounds-checked against its memory; an out-of-bounds range traps the call.
//! - (H) **Deterministic.** The [`Outcome`], the log, the children and `fuel_used` are a
//!   function of the module, the [`Call`], the state and the validator's answers alone.
//!
//! # Determinism (`docs/limits.md`)
//!
//! [`Engine::new`] configures wasmtime so that (H) holds:
//!
//! - **threads off** (the `threads` cargo feature is not built, and shared-everything
//!   threads are off): shared memories and atomics across threads would make results
//!   depend on scheduling;
//! - **relaxed SIMD off**, and `relaxed_simd_deterministic` on in case it is ever turned
//!   on: relaxed SIMD instructions may give different results on different CPUs;
//! - **NaN canonicalization on** (`cranelift_nan_canonicalization`): float operations
//!   that produce a NaN produce the one canonical NaN, whatever the CPU would have given;
//! - **fuel on** (`consume_fuel`): the instruction budget is counted in wasm operators,
//!   not in time, so running out of it happens at the same point on every machine;
//! - **memory64, multi-memory and custom page sizes off**: pointers are `i32` into the one
//!   memory, which is what `docs/guest-abi.md` means by "memory 0";
//! - **no GC, exceptions, stack switching or component model** (their cargo features are
//!   not built): not needed by Rust-built canisters, and GC timing is not wasm-visible but
//!   not worth the surface;
//! - **no epoch interruption**: it is wall-clock based. Fuel is the only interruption.
//!
//! One residual: the wasm stack is capped at wasmtime's `max_wasm_stack` (512 KiB of
//! native stack). The exact recursion depth at which a call traps with "call stack
//! exhausted" is the same for the same build on the same architecture, but may differ
//! between architectures or wasmtime versions. Canisters should not rely on deep
//! recursion.
//!
//! # Host calls cost fuel
//!
//! Each import costs [`HOST_CALL_FUEL`] plus one unit per byte it moves between guest
//! memory and the host (names, keys, values, arguments, replies, printed text), so a guest
//! cannot make the host copy megabytes in a loop for the price of a few instructions.
//!
//! # Decisions beyond the documented contract
//!
//! - `msg_reject` ends the call as [`Outcome::Trapped`] with the reject message: its
//!   writes and children are dropped (on the IC a rejecting update keeps its writes;
//!   commute keeps one rule, "not a reply: nothing lands").
//! - A query or update that returns without replying is trapped with "did not reply". A
//!   oneway may reply or not; its reply is discarded and the outcome is [`Outcome::Done`].
//! - The reply is capped at [`Limits::arg_bytes`], as on the IC where both are 2 MiB.
//! - `debug_print` writes `[canister] text` to the host's stderr, at most
//!   [`PRINT_MAX`] bytes of it, as lossy UTF-8.
//! - Guest-provided trap and reject text is made one line and cut at [`MESSAGE_MAX`] bytes.
//! - `call_pure` with a canister or method name that is not UTF-8 returns
//!   [`NO_SUCH_CANISTER`](commute_abi::call_pure_status::NO_SUCH_CANISTER) or
//!   [`NOT_A_PURE_METHOD`](commute_abi::call_pure_status::NOT_A_PURE_METHOD), and an
//!   argument over [`Limits::arg_bytes`] returns
//!   [`BAD_ARGUMENTS`](commute_abi::call_pure_status::BAD_ARGUMENTS), without asking the
//!   [`ChildCalls`]. The 257th `call_pure` (by default) traps, before any validation.
//!
//! This module imports [`crate::write_log`] (downstream values it produces) and, for
//! [`CanisterState`], [`crate::store`]'s read side.
//!
//! [`WriteLog`]: crate::write_log::WriteLog
//! [`WriteLog::push`]: crate::write_log::WriteLog::push

pub mod cache;
mod call;
mod engine;
mod guest_memory;
mod host;
mod instrument;
mod limits;
mod message;
pub mod overlay;
mod state;
mod warm;

pub use cache::{CacheStats, Origin};
pub use call::{Call, Child, Execution, Outcome};
pub use commute_abi::Mode;
pub use engine::{
    check_size, pooled_wasmtime_config, Compiled, Engine, MAX_CODE_BYTES, MAX_FUNCTIONS,
    MAX_FUNCTION_BYTES,
};
pub use host::HOST_CALL_FUEL;
pub use limits::Limits;
pub use message::{MESSAGE_MAX, PRINT_MAX};
pub use state::{CanisterState, ChildCalls, Refused, StateError, StateView};

use thiserror::Error;

/// Why a module could not be compiled, or why a call could not be run to a verdict.
///
/// Compile errors name the input at fault (the import, the export). [`ExecuteError::State`]
/// and [`ExecuteError::Host`] come from [`Compiled::execute`] and are *host* failures, not
/// the guest's: no outcome should be recorded for the call, which can be run again.
#[derive(Debug, Error)]
pub enum ExecuteError {
    /// wasmtime refused the engine configuration.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The input does not start like a wasm module.
    #[error("not a wasm module: {reason}")]
    NotWasm {
        /// What is wrong with the bytes.
        reason: String,
    },
    /// The module is over a limit on what is compiled (`docs/limits.md`), checked before
    /// any of it is compiled.
    #[error("module too large to compile: {what}")]
    TooLarge {
        /// Which limit, and by how much.
        what: String,
    },
    /// The input is wasm, but not valid under commute's wasm features.
    #[error("invalid wasm module: {reason}")]
    Invalid {
        /// wasmtime's reason, on one line.
        reason: String,
    },
    /// The module imports something outside the ABI.
    #[error("wasm imports {import}, which is not in the commute ABI (docs/guest-abi.md)")]
    ForbiddenImport {
        /// `module.name`.
        import: String,
    },
    /// The module imports an ABI function with the wrong signature.
    #[error("wasm imports {import} as {found}, but the ABI says {expected} (docs/guest-abi.md)")]
    ImportSignature {
        /// `module.name`.
        import: String,
        /// The ABI's signature.
        expected: String,
        /// The module's signature.
        found: String,
    },
    /// The module imports an ABI name as something other than a function.
    #[error("wasm imports {import} as a {kind}; commute imports are functions")]
    ImportKind {
        /// `module.name`.
        import: String,
        /// `memory`, `table`, `global` or `tag`.
        kind: &'static str,
    },
    /// The module does not export its memory as `memory`.
    #[error("wasm exports no memory named `memory` (guests export their memory, as Rust-built wasm does)")]
    NoMemory,
    /// The module's initial memory is over [`Limits::memory_bytes`].
    #[error("wasm memory starts at {bytes} bytes, over the limit of {limit} bytes")]
    MemoryTooLarge {
        /// The initial memory size.
        bytes: u64,
        /// The cap.
        limit: u64,
    },
    /// The module exports a name the host reserves for its own exports.
    #[error(
        "wasm exports `{export}`; export names starting with `commute:` are reserved for the host"
    )]
    ReservedExport {
        /// The export's name.
        export: String,
    },
    /// An entry point (`canister_query …`, `canister_update …`, `canister_init`) is not a
    /// function of type `() -> ()`.
    #[error("wasm export `{export}` is {found}; entry points are functions () -> ()")]
    EntryPoint {
        /// The export's name.
        export: String,
        /// What it is instead.
        found: String,
    },
    /// Reading committed state failed during a call; the call has no verdict.
    #[error("reading state of canister {canister} failed during `{method}`: {source}")]
    State {
        /// The canister called.
        canister: String,
        /// The method called.
        method: String,
        /// The failure.
        source: StateError,
    },
    /// The host could not run the call (for example the instance pool is exhausted).
    #[error("cannot run `{method}` of canister {canister}: {reason}")]
    Host {
        /// The canister called.
        canister: String,
        /// The method called.
        method: String,
        /// wasmtime's reason, on one line.
        reason: String,
    },
}

impl ExecuteError {
    /// Whether the module given is at fault (a compile error), rather than the host.
    pub fn is_bad_module(&self) -> bool {
        !matches!(
            self,
            ExecuteError::Engine(_) | ExecuteError::State { .. } | ExecuteError::Host { .. }
        )
    }
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;
