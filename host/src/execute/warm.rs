//! Warm instances: an instance kept between the calls of its module, put back to the
//! module's initial state after each call instead of being torn down and instantiated
//! again.
//!
//! A call of a tiny method costs mostly its instance: instantiating it, then on teardown
//! wasmtime's reset of its pool slot. A warm instance skips both; after the call the host
//! writes the memory's initial bytes back (zeros where the image has zeros, a copy
//! elsewhere: `Image`) and sets every mutable global to its initial value, which is all
//! a call of a marked module can change (`instrument.rs`, invariant (A)).
//!
//! Measured side by side in a bare loop (`analytics.view`, `logger.log`; 3,000 calls, 1
//! thread), with a copy of the whole memory: 5.16 → 3.70 and 6.06 → 4.51 µs a call; at 2
//! threads the loop sped up 1.71–1.90× instead of 1.27–1.42×, since the instantiation and
//! teardown it skips are what the threads contended on. Through the host (2,000
//! `analytics.view` calls, submit and tick, 1 thread, 6 interleaved pairs), writing zeros
//! instead of copying them took 10.45–13.85 ms against 12.20–16.11.
//!
//! # Invariants
//!
//! - (A) **A call starts from the initial state.** A warm instance is taken only from the
//!   pool of its own module, and goes back to it only after its memory holds exactly the
//!   bytes it had when instantiated (taken once, from the module's first warm instance,
//!   before its first call) and every mutable global holds the value it had then. An
//!   instance whose memory grew, or whose reset failed, is dropped instead.
//! - (B) **No call's references outlive it.** A pooled instance's store holds a
//!   [`parked`] host, whose references are to statics only; the call's own host (which
//!   borrows the call's inputs) is swapped out before the instance is pooled.
//! - (C) **Slots are left for fresh instances.** At most [`WARM_MAX`] instances are warm
//!   on one engine, all modules together, counted from instantiation to drop.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use commute_abi::Mode;
use wasmtime::{Global, Instance, Memory, ModuleExport, Store, Val};

use super::call::Call;
use super::host::{Env, Host};
use super::limits::Limits;
use super::state::{ChildCalls, Refused, StateError, StateView};

/// The most instances kept warm on one engine (invariant (C)): half the pool's slots, so
/// that the calls of modules that cannot be reset, and calls beyond the warm ones, still
/// find a slot.
pub(super) const WARM_MAX: usize = super::engine::POOL_SLOTS as usize / 2;

/// One module's warm instances, and what resetting them needs.
pub(super) struct Warmth {
    parked: Mutex<Vec<Warm>>,
    /// The memory's bytes as instantiated (invariant (A)).
    image: OnceLock<Image>,
    /// The module's mutable globals (`instrument.rs`, invariant (B)).
    globals: Vec<ModuleExport>,
    /// The engine's count of warm instances (invariant (C)).
    live: Arc<AtomicUsize>,
}

/// An instance that can be reset, and its store.
pub(super) struct Warm {
    store: Store<Host>,
    instance: Instance,
    reset: Reset,
}

/// What puts an instance back: its memory and its mutable globals with their initial
/// values (a global's value may be a reference into its own store, so each instance keeps
/// its own).
pub(super) struct Reset {
    memory: Memory,
    globals: Vec<(Global, Val)>,
    _live: Live,
}

/// One of the engine's [`WARM_MAX`], given back on drop.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn take(count: &Arc<AtomicUsize>) -> Option<Live> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < WARM_MAX).then_some(n + 1)
            })
            .ok()
            .map(|_| Live(Arc::clone(count)))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Warmth {
    pub(super) fn new(globals: Vec<ModuleExport>, live: Arc<AtomicUsize>) -> Warmth {
        Warmth {
            parked: Mutex::new(Vec::new()),
            image: OnceLock::new(),
            globals,
            live,
        }
    }

    /// A pool of the same module's instances, empty.
    pub(super) fn emptied(&self) -> Warmth {
        Warmth::new(self.globals.clone(), Arc::clone(&self.live))
    }

    /// A pooled instance of this module, if one is free.
    pub(super) fn take(&self) -> Option<Warm> {
        self.parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// What will reset `instance`, just instantiated in `store` and not yet called; `None`
    /// if the engine keeps [`WARM_MAX`] warm already.
    pub(super) fn reset_for(
        &self,
        store: &mut Store<Host>,
        instance: &Instance,
        memory: Memory,
    ) -> Option<Reset> {
        let live = Live::take(&self.live)?;
        self.image.get_or_init(|| Image::new(memory.data(&*store)));
        let mut globals = Vec::with_capacity(self.globals.len());
        for export in &self.globals {
            let global = instance
                .get_module_export(&mut *store, export)?
                .into_global()?;
            globals.push((global, global.get(&mut *store)));
        }
        Some(Reset {
            memory,
            globals,
            _live: live,
        })
    }

    /// Resets the instance a call ran on and pools it, or drops it if it cannot be reset
    /// (invariant (A)). Its store must hold a [`parked`] host (invariant (B)).
    pub(super) fn park(&self, store: Store<Host>, instance: Instance, reset: Reset) {
        let mut warm = Warm {
            store,
            instance,
            reset,
        };
        if warm.reset(self.image.get()) {
            (self.parked.lock().unwrap_or_else(PoisonError::into_inner)).push(warm);
        }
    }
}

impl Reset {
    /// The memory it resets: the instance's.
    pub(super) fn memory(&self) -> Memory {
        self.memory
    }
}

impl Warm {
    /// Puts the instance's state back; `false` if it cannot be.
    fn reset(&mut self, image: Option<&Image>) -> bool {
        let Some(image) = image else {
            return false;
        };
        let memory = self.reset.memory.data_mut(&mut self.store);
        if !image.restore(memory) {
            return false;
        }
        (self.reset.globals.iter())
            .all(|(global, value)| global.set(&mut self.store, *value).is_ok())
    }

    /// The parts, for the call that takes it: store, instance, reset.
    pub(super) fn into_parts(self) -> (Store<Host>, Instance, Reset) {
        (self.store, self.instance, self.reset)
    }
}

/// A memory's bytes as instantiated, and its runs of zero and other bytes: a reset writes
/// zeros where the image has them rather than copy them, which reads half the bytes. The
/// examples' memories are 55–69% zeros (stack, heap), in runs of whole 256-byte chunks.
struct Image {
    bytes: Box<[u8]>,
    /// Consecutive ranges covering `bytes`, each all zeros (`true`) or not.
    runs: Vec<(std::ops::Range<usize>, bool)>,
}

impl Image {
    /// The granule of [`Image::runs`]: small enough to find the zeros between data, large
    /// enough that a run is worth a call of its own.
    const CHUNK: usize = 256;

    fn new(bytes: &[u8]) -> Image {
        let mut runs: Vec<(std::ops::Range<usize>, bool)> = Vec::new();
        for (i, chunk) in bytes.chunks(Image::CHUNK).enumerate() {
            let zero = chunk.iter().all(|&b| b == 0);
            let at = i * Image::CHUNK;
            match runs.last_mut() {
                Some((range, was)) if *was == zero => range.end = at + chunk.len(),
                _ => runs.push((at..at + chunk.len(), zero)),
            }
        }
        Image {
            bytes: bytes.into(),
            runs,
        }
    }

    /// Puts `memory` back to the image; `false` (and nothing written) if it is not the
    /// image's size.
    fn restore(&self, memory: &mut [u8]) -> bool {
        if memory.len() != self.bytes.len() {
            return false;
        }
        for (range, zero) in &self.runs {
            if *zero {
                memory[range.clone()].fill(0);
            } else {
                memory[range.clone()].copy_from_slice(&self.bytes[range.clone()]);
            }
        }
        true
    }
}

/// The host a pooled instance's store holds between calls (invariant (B)): no call, no
/// state, no children, every reference to a static.
pub(super) fn parked() -> Host {
    static CALL: Call<'static> = Call {
        canister: "",
        self_principal: b"",
        method: "",
        export: "",
        mode: Mode::Query,
        caller: b"",
        arg: b"",
        time: 0,
    };
    Host::new(
        Env {
            call: &CALL,
            state: &Parked,
            children: &Parked,
            limits: Limits::DEFAULT,
        },
        None,
    )
}

/// The state and children of [`parked`]: nothing. No import runs while an instance is
/// parked; these answer as an empty canister would.
struct Parked;

impl StateView for Parked {
    fn counter_get(&self, _: &[u8], _: &[u8]) -> Result<i128, StateError> {
        Ok(0)
    }
    fn map_get(&self, _: &[u8], _: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
    fn map_next_key(&self, _: &[u8], _: Option<&[u8]>) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
    fn list_len(&self, _: &[u8]) -> Result<u64, StateError> {
        Ok(0)
    }
    fn list_get(&self, _: &[u8], _: u64) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
}

impl ChildCalls for Parked {
    fn validate(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, Refused> {
        Err(Refused::new(1, "no call is running"))
    }
}

#[cfg(test)]
mod tests;
