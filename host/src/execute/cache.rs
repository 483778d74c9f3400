//! [`ModuleCache`]: each module compiled once per process, and once per data dir.
//!
//! Compiling a canister is cranelift's work and takes about a second for a Rust-built
//! module; every other step of a short-lived `commute call` or `commute tick` takes
//! milliseconds. So a module is compiled at install, its compiled form (wasmtime's
//! `Module::serialize`) is kept in the data dir, and a new process loads it instead.
//!
//! # Artifact files
//!
//! ```text
//! DIR/modules/<blake3 of the wasm, hex>-<engine tag, 16 hex>.cwasm
//!
//! "commute-cwasm\x02" (14 bytes) ‖ blake3 of the payload (32 bytes) ‖ payload
//! ```
//!
//! The payload is what `Module::serialize` wrote. The *engine tag* is a blake3 of
//! wasmtime's `precompile_compatibility_hash`, which covers the target, the compiler's
//! flags, the tunables, the wasm features and the wasmtime version: an engine configured
//! otherwise looks for another file, and a file of another wasmtime (or configuration) is
//! never mistaken for its own.
//!
//! # Invariants
//!
//! - (A) **Single flight.** One compile (or load) per module per engine, however many
//!   threads ask at once: the first to ask holds the module's slot while it works; the
//!   others wait on that slot, then share what it made. Other modules are not held up.
//!   The waiting must be another thread's: wasmtime compiles on the caller's rayon pool,
//!   so a pool worker that asked again while compiling (a stolen call of the same
//!   canister) would wait on itself. Rounds therefore compile before their calls run
//!   (`round::compile`).
//! - (B) **Never run a bad artifact.** `Module::deserialize` trusts its input (it is
//!   `unsafe` for that reason), so a file is deserialized only if its checksum matches its
//!   payload. A file that fails the check, or that wasmtime refuses (another version or
//!   configuration), is compiled again from the wasm and replaced.
//! - (C) **Same checks either way.** A loaded module passes the same import and export
//!   checks as a compiled one ([`Engine::check`]), so loading can never admit a module
//!   that compiling would refuse.
//! - (D) **Written whole or not at all.** A file is written under a temporary name and
//!   renamed into place, so a crash mid-write leaves no half file under the real name. A
//!   file that cannot be written (a read-only or full disk) costs only the next process
//!   a compile; the module is still used.
//!
//! The checksum guards against torn and corrupted files, not against someone who can
//! write to the data dir: they could replace the installed wasm in the store just as well.

use std::collections::HashMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wasmtime::Module;

use super::engine::{one_line_error, Compiled, Engine};
use super::ExecuteError;

/// The first bytes of every artifact file. Its last byte is the format's version, raised
/// whenever what `instrument.rs` does to a module before compiling it changes (2: warm
/// instances' exports), so that no older artifact is loaded as if instrumented the new way.
const MAGIC: &[u8; 14] = b"commute-cwasm\x02";

/// The folder of the data dir that holds the artifacts.
pub const MODULES_DIR: &str = "modules";

/// Where a [`Compiled`] came from; see [`Compiled::origin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled from the wasm by this process.
    Compiled,
    /// Loaded from an artifact file of the data dir.
    Loaded,
}

/// What happened to each module asked for, counted per engine. For tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules compiled from wasm.
    pub compiled: u64,
    /// Modules loaded from an artifact file.
    pub loaded: u64,
    /// Artifact files refused: corrupt, or of another wasmtime or configuration.
    pub refused: u64,
}

/// One module's slot: empty until its first compile or load ends well (invariant A).
type Slot = Arc<Mutex<Option<Compiled>>>;

/// The modules of one [`Engine`], by the blake3 of their wasm; see the module doc.
pub(super) struct ModuleCache {
    slots: Mutex<HashMap<[u8; 32], Slot>>,
    /// The engine tag of the artifact file names.
    tag: String,
    compiled: AtomicU64,
    loaded: AtomicU64,
    refused: AtomicU64,
}

/// A poisoned lock means a compile panicked; what the slot holds (nothing, or a whole
/// module) is still consistent, so go on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A `std::hash::Hasher` over blake3: the same bytes give the same tag in every process,
/// which `DefaultHasher` does not promise.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        let hash = self.0.finalize();
        u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
    }
}

impl ModuleCache {
    pub(super) fn new(engine: &wasmtime::Engine) -> ModuleCache {
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        ModuleCache {
            slots: Mutex::new(HashMap::new()),
            tag: format!("{:016x}", hasher.finish()),
            compiled: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    pub(super) fn stats(&self) -> CacheStats {
        CacheStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            loaded: self.loaded.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    /// The artifact file of `hash` in data dir `dir`.
    pub(super) fn path(&self, dir: &Path, hash: &[u8; 32]) -> PathBuf {
        let name = format!("{}-{}.cwasm", hex(hash), self.tag);
        dir.join(MODULES_DIR).join(name)
    }

    /// `wasm`'s module: made before by this engine, else loaded from `dir`'s artifact,
    /// else compiled (and its artifact written to `dir`). Each caller gets warm instances
    /// of its own (`warm.rs`), which go when its module does: the cache keeps none.
    pub(super) fn get(
        &self,
        engine: &Engine,
        wasm: &[u8],
        dir: Option<&Path>,
    ) -> Result<Compiled, ExecuteError> {
        let hash = *blake3::hash(wasm).as_bytes();
        let slot = lock(&self.slots).entry(hash).or_default().clone();
        // (A): held while compiling, so a second thread waits here rather than compile.
        let mut held = lock(&slot);
        if let Some(compiled) = held.as_ref() {
            return Ok(compiled.with_own_warmth());
        }
        let path = dir.map(|dir| self.path(dir, &hash));
        if let Some(compiled) = path.as_deref().and_then(|p| self.load(engine, p)) {
            self.loaded.fetch_add(1, Ordering::Relaxed);
            return Ok(held.insert(compiled).with_own_warmth());
        }
        let compiled = engine.compile(wasm)?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Some(path) = &path {
            if let Err(err) = store(path, &compiled.module) {
                // (D): a later process compiles again; this one goes on.
                eprintln!(
                    "warning: cannot keep the compiled module at {}: {err}",
                    path.display()
                );
            }
        }
        Ok(held.insert(compiled).with_own_warmth())
    }

    /// The module of the artifact at `path`, if there is one that passes (B) and (C).
    fn load(&self, engine: &Engine, path: &Path) -> Option<Compiled> {
        let bytes = std::fs::read(path).ok()?;
        let refuse = || {
            self.refused.fetch_add(1, Ordering::Relaxed);
            None
        };
        let Some(payload) = verified(&bytes) else {
            return refuse();
        };
        // SAFETY: `payload` is byte for byte what `Module::serialize` wrote for a module
        // of an engine with this engine's tag: its blake3 matches the one stored beside
        // it (invariant B), and the file is named after this engine's tag. wasmtime
        // itself checks the version and configuration recorded in it, and refuses
        // (rather than misreads) a mismatch.
        let module = match unsafe { Module::deserialize(&engine.wasmtime, payload) } {
            Ok(module) => module,
            Err(_) => return refuse(),
        };
        match engine.check(module) {
            Ok(compiled) => Some(compiled),
            Err(_) => refuse(),
        }
    }
}

/// The payload of an artifact file, if its magic and checksum are right.
fn verified(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    if rest.len() < 32 {
        return None;
    }
    let (sum, payload) = rest.split_at(32);
    (blake3::hash(payload).as_bytes() == sum).then_some(payload)
}

/// An artifact file's bytes around `payload`: the magic and its checksum.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(blake3::hash(payload).as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Writes `module`'s artifact to `path`, whole or not at all (invariant D).
fn store(path: &Path, module: &Module) -> Result<(), String> {
    let payload = module.serialize().map_err(|e| one_line_error(&e))?;
    let bytes = framed(&payload);
    let dir = path.parent().expect("an artifact path has a folder");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let temp = path.with_extension(format!(
        "{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&temp, &bytes).and_then(|()| std::fs::rename(&temp, path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(err.to_string());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
