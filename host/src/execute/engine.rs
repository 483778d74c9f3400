//! [`Engine`]: wasmtime configured for determinism, with the ABI's imports defined; and
//! [`Compiled`]: one canister's checked module, ready to instantiate.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use commute_abi::{export, ValType as AbiType};
use wasmtime::{
    Config, Enabled, ExternType, FuncType, InstanceAllocationStrategy, InstancePre, Linker, Module,
    ModuleExport, PoolingAllocationConfig, ValType,
};

use super::cache::{CacheStats, ModuleCache, Origin};
use super::host::{self, Host};
use super::instrument::{self, instrument};
use super::limits::Limits;
use super::message::one_line;
use super::warm::Warmth;
use super::ExecuteError;

/// The most table elements an instance may have. Rust-built canisters have one table with
/// an entry per function called indirectly: hundreds to a few thousand.
pub(super) const MAX_TABLE_ELEMENTS: usize = 20_000;

/// The most instances the pool holds at once, so the most calls that can run at the same
/// time on one [`Engine`]: far above the number of cores a round runs on plus the queries
/// served meanwhile.
pub(super) const POOL_SLOTS: u32 = 256;

/// The most tables a module may have: Rust-built wasm has one; reference types allow more.
const MAX_TABLES: u32 = 4;

/// The bytes of a pool slot's memory (and of its tables) kept mapped between calls and
/// reset in user space, with `memset` and a copy of the data segments; see
/// [`wasmtime_config`] for why, and what it costs.
const KEEP_RESIDENT: usize = 2 << 20;

/// How instances get their memory; see [`Engine::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Allocation {
    /// wasmtime's pooling allocator with [`POOL_SLOTS`] slots, reset in user space.
    Pooling,
    /// The same, but where Linux can tell which pages a call dirtied (PAGEMAP_SCAN),
    /// only those are reset: one `ioctl` a call. Kept to measure against.
    #[cfg_attr(not(test), allow(dead_code))]
    PoolingScanned,
    /// A fresh mapping per instance.
    #[cfg_attr(not(test), allow(dead_code))]
    OnDemand,
}

/// wasmtime configured as `docs/limits.md` requires, with [`Limits`] and the host side of every
/// import of [`commute_abi::IMPORTS`]. Cheap to clone, and shared by every thread.
///
/// The configuration and why each setting is there are in the [`crate::execute`] module
/// doc ("Determinism"). Instances come from wasmtime's pooling allocator, which recycles
/// slots of memory between calls instead of mapping and unmapping them: 256 slots an
/// engine, of which warm instances between calls hold at most half (`execute/warm.rs`),
/// so at least 128 calls can be in flight on one engine at a time; a call that finds no
/// slot returns [`ExecuteError::Host`].
///
/// # Examples
///
/// ```
/// use commute::execute::{Engine, Limits};
///
/// let engine = Engine::new(Limits::default())?;
/// assert_eq!(engine.limits().memory_bytes, 64 << 20);
/// assert!(engine.compile(b"not wasm").is_err());
/// # Ok::<(), commute::execute::ExecuteError>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(super) wasmtime: wasmtime::Engine,
    linker: Arc<Linker<Host>>,
    limits: Limits,
    cache: Arc<ModuleCache>,
    /// How many instances are warm, all modules together (`warm.rs`, invariant (C)).
    warm: Arc<AtomicUsize>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The wasmtime configuration of every [`Engine`] (with [`Allocation::Pooling`], as
/// [`Engine::new`] makes): deterministic, metered, pooled. Public so a benchmark can run
/// bare wasmtime under exactly the same configuration.
pub fn pooled_wasmtime_config() -> Config {
    wasmtime_config(Allocation::Pooling)
}

pub(super) fn wasmtime_config(allocation: Allocation) -> Config {
    let mut config = Config::new();
    // Determinism; see the module doc of `crate::execute`.
    config
        .consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .wasm_relaxed_simd(false)
        .relaxed_simd_deterministic(true)
        .wasm_shared_everything_threads(false)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        // Trap messages are one line; a backtrace would only cost time at each trap.
        .wasm_backtrace_max_frames(None);
    // Bounds checks in the compiled code instead of guard pages and signal handlers. With
    // virtual-memory tricks, every call that grows its memory (every Rust guest: its
    // allocator grows at the first allocation) costs an `mprotect` to grow and another
    // to shrink the slot back at the next instantiation, each a TLB shootdown across
    // every thread of the process: execution on 2 threads ran no faster than on 1
    // (1.13x). Without them a slot stays read/write once grown, and calls scale (1.89x
    // at 2 threads, `commute bench --only speedup_uniform`, exec_ratio); one thread got
    // faster too. Traps are the same traps, with the same messages.
    // wasmtime keeps a guard region before each memory by default even without signals;
    // with no guard pages at all, nothing in a slot ever needs re-protecting.
    config
        .signals_based_traps(false)
        .memory_guard_size(0)
        .guard_before_linear_memory(false);
    if matches!(allocation, Allocation::Pooling | Allocation::PoolingScanned) {
        // The pool's slots keep wasmtime's default size; the cap on memory is the
        // limiter's (`host::Limiter`), so a module over it is refused by name in
        // `compile` rather than by the pool.
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(POOL_SLOTS)
            .total_memories(POOL_SLOTS)
            .total_tables(POOL_SLOTS * MAX_TABLES)
            .max_memories_per_module(1)
            .max_tables_per_module(MAX_TABLES)
            .table_elements(MAX_TABLE_ELEMENTS)
            .table_keep_resident(KEEP_RESIDENT)
            .linear_memory_keep_resident(KEEP_RESIDENT);
        // Between calls a slot is reset to the module's initial state in user space: its
        // first KEEP_RESIDENT bytes of memory and of tables with memset (and a copy of the
        // data segments), never a system call. Only memory a call grew past that is
        // given back with `madvise`. With no guard region (above) a slot's memory stays
        // read/write once grown, so reusing it costs no `mprotect` either; and the pool
        // prefers a slot that last ran the same module (affinity), whose image is
        // already mapped.
        //
        // Measured side by side (`tests::instantiate_cost`: store, instance, a call that
        // touches the top of its stack and adds to a counter, teardown; wall time per
        // call at 1 / 2 / 8 threads on this 2-core VM, while another build ran):
        //
        // | guest memory               | user-space reset | PAGEMAP_SCAN   | on demand      |
        // | 3 pages (128 KiB stack)    | 11.1 / 11.3 / 7.7 µs | 7.7 / 8.7 / 8.8 µs | 60 / 52 / 61 µs |
        // | 17 pages (Rust's 1 MiB)    | 33 / 35 / 36 µs  | 10 / 8.6 / 7.8 µs | 46 / 45 / 49 µs |
        //
        // The user-space reset costs a memset of the memory a guest has, so it wins for
        // small guests and loses ~25 µs a call for one with Rust's default 1 MiB stack:
        // the examples are built with a 64 KiB stack, and the docs say why. It won
        // because it is the only one with no system call per call: `commute tick`
        // over 1,000 `analytics.view` calls made 1,002 `ioctl`s with PAGEMAP_SCAN and
        // none with it.
        //
        // Dirty-page scanning (PAGEMAP_SCAN) resets less memory, but it is a system call
        // per call that takes the process's memory-map lock: on 16 cores the bare
        // wasmtime loop stopped at 2.4x at 8 threads with it. On demand maps and unmaps
        // per call, which serializes the threads outright.
        if allocation == Allocation::PoolingScanned
            && PoolingAllocationConfig::is_pagemap_scan_available()
        {
            pool.pagemap_scan(Enabled::Yes);
        } else {
            pool.pagemap_scan(Enabled::No);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

impl Engine {
    /// An engine whose calls run under `limits`.
    ///
    /// # Errors
    ///
    /// [`ExecuteError::Engine`] if wasmtime refuses the configuration (for example, the
    /// machine cannot reserve the pool's address space), or if the host lacks an import
    /// of the ABI table.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Engine, Limits};
    ///
    /// let engine = Engine::new(Limits { fuel: 1_000_000, ..Limits::default() })?;
    /// assert_eq!(engine.limits().fuel, 1_000_000);
    /// # Ok::<(), commute::execute::ExecuteError>(())
    /// ```
    pub fn new(limits: Limits) -> Result<Engine, ExecuteError> {
        Engine::with_allocation(limits, Allocation::Pooling)
    }

    pub(super) fn with_allocation(
        limits: Limits,
        allocation: Allocation,
    ) -> Result<Engine, ExecuteError> {
        keep_heaps_resident();
        let engine_error = |err: wasmtime::Error| ExecuteError::Engine(one_line_error(&err));
        let config = wasmtime_config(allocation);
        let wasmtime = wasmtime::Engine::new(&config).map_err(engine_error)?;
        let mut linker = Linker::new(&wasmtime);
        host::define(&mut linker)?;
        Ok(Engine {
            cache: Arc::new(ModuleCache::new(&wasmtime)),
            wasmtime,
            linker: Arc::new(linker),
            limits,
            warm: Arc::default(),
        })
    }

    /// How many instances are warm on this engine now (`warm.rs`, invariant (C)).
    #[cfg(test)]
    pub(super) fn warm_instances(&self) -> usize {
        self.warm.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The caps every call of this engine runs under.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Engine, Limits};
    ///
    /// assert_eq!(*Engine::new(Limits::default())?.limits(), Limits::default());
    /// # Ok::<(), commute::execute::ExecuteError>(())
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether `self` and `other` are the same engine (clones of one another), so that a
    /// module compiled by one runs on the other.
    pub fn same(&self, other: &Engine) -> bool {
        wasmtime::Engine::same(&self.wasmtime, &other.wasmtime)
    }

    /// Validates and compiles a canister's wasm, once per install.
    ///
    /// Checks, in order: the bytes are a wasm module; no export name starts with
    /// `commute:`; it is valid under the configuration of the module doc; every import is
    /// a function of [`commute_abi::IMPORTS`] with the table's signature (invariant (B));
    /// it exports its memory as `memory`, no larger at the start than
    /// [`Limits::memory_bytes`]; every entry point (`canister_init`, `canister_query …`,
    /// `canister_update …`) is a function `() -> ()`. A module whose instances can be
    /// reset between calls is compiled with its mutable globals exported to the host
    /// (`execute/instrument.rs`).
    ///
    /// # Errors
    ///
    /// [`ExecuteError::NotWasm`], [`ExecuteError::Invalid`],
    /// [`ExecuteError::ForbiddenImport`], [`ExecuteError::ImportSignature`],
    /// [`ExecuteError::ImportKind`], [`ExecuteError::NoMemory`],
    /// [`ExecuteError::MemoryTooLarge`], [`ExecuteError::EntryPoint`] or
    /// [`ExecuteError::ReservedExport`], naming the import or export at fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Engine, Limits};
    ///
    /// let engine = Engine::new(Limits::default())?;
    /// let wasm = wat::parse_str(r#"(module (import "env" "abort" (func)) (memory (export "memory") 1))"#)?;
    /// let err = engine.compile(&wasm).unwrap_err();
    /// assert_eq!(err.to_string(), "wasm imports env.abort, which is not in the commute ABI (docs/guest-abi.md)");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, ExecuteError> {
        check_header(wasm)?;
        check_size(wasm)?;
        let wasm = instrument(wasm)?;
        let module =
            Module::from_binary(&self.wasmtime, &wasm).map_err(|err| ExecuteError::Invalid {
                reason: one_line_error(&err),
            })?;
        // Instrumentation invariant (C) whatever its scan made of the module: one it left
        // as it came may still not carry a name only the host gives.
        if let Cow::Borrowed(_) = wasm {
            let reserved = module
                .exports()
                .find(|e| e.name().starts_with(instrument::PREFIX));
            if let Some(export) = reserved {
                return Err(ExecuteError::ReservedExport {
                    export: export.name().to_owned(),
                });
            }
        }
        let mut compiled = self.check(module)?;
        compiled.origin = Origin::Compiled;
        Ok(compiled)
    }

    /// `wasm`'s module, compiled at most once per engine however many threads ask at
    /// once, and kept in data dir `dir` (if given) for the next process to load instead
    /// of compiling; see [`crate::execute::cache`](super::cache) for the file format and
    /// its invariants.
    ///
    /// # Errors
    ///
    /// As [`Engine::compile`]. A corrupt or stale artifact file is no error: it is
    /// compiled again and replaced.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Engine, Limits, Origin};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1))"#)?;
    /// let first = Engine::new(Limits::default())?;
    /// assert_eq!(first.module(&wasm, Some(dir.path()))?.origin(), Origin::Compiled);
    /// // Another engine (as in a new process) loads what the first one kept.
    /// let second = Engine::new(Limits::default())?;
    /// assert_eq!(second.module(&wasm, Some(dir.path()))?.origin(), Origin::Loaded);
    /// assert_eq!(second.cache_stats().compiled, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn module(&self, wasm: &[u8], dir: Option<&Path>) -> Result<Compiled, ExecuteError> {
        self.cache.get(self, wasm, dir)
    }

    /// How many modules [`Engine::module`] compiled, loaded and refused to load so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// The artifact file [`Engine::module`] keeps for `wasm` in data dir `dir`.
    pub fn artifact_path(&self, dir: &Path, wasm: &[u8]) -> std::path::PathBuf {
        self.cache.path(dir, blake3::hash(wasm).as_bytes())
    }

    /// The checks of [`Engine::compile`] after compiling, on a module compiled or loaded
    /// (cache invariant C), and its link against the host's imports.
    pub(super) fn check(&self, module: Module) -> Result<Compiled, ExecuteError> {
        for import in module.imports() {
            let name = format!("{}.{}", import.module(), import.name());
            let Some(abi) = commute_abi::import(import.module(), import.name()) else {
                return Err(ExecuteError::ForbiddenImport { import: name });
            };
            let ty = match import.ty() {
                ExternType::Func(ty) => ty,
                other => {
                    return Err(ExecuteError::ImportKind {
                        import: name,
                        kind: kind(&other),
                    })
                }
            };
            let params: Vec<AbiType> = abi.param_types().collect();
            if !same_types(ty.params(), &params) || !same_types(ty.results(), abi.results) {
                return Err(ExecuteError::ImportSignature {
                    expected: abi.to_string(),
                    found: signature(&name, &ty),
                    import: name,
                });
            }
        }
        let memory_bytes = match module.get_export(export::MEMORY) {
            Some(ExternType::Memory(memory)) => {
                let bytes = memory.minimum().saturating_mul(memory.page_size());
                if bytes > self.limits.memory_bytes {
                    return Err(ExecuteError::MemoryTooLarge {
                        bytes,
                        limit: self.limits.memory_bytes,
                    });
                }
                bytes
            }
            _ => return Err(ExecuteError::NoMemory),
        };
        let mut entries = hashbrown::HashMap::new();
        for item in module.exports() {
            if export::parse(item.name()).is_none() {
                continue;
            }
            let found = match item.ty() {
                ExternType::Func(ty) if ty.params().len() == 0 && ty.results().len() == 0 => {
                    if let Some(index) = module.get_export_index(item.name()) {
                        entries.insert(item.name().to_owned(), index);
                    }
                    continue;
                }
                ExternType::Func(ty) => format!("a function {}", signature("", &ty)),
                other => format!("a {}", kind(&other)),
            };
            return Err(ExecuteError::EntryPoint {
                export: item.name().to_owned(),
                found,
            });
        }
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|err| ExecuteError::Invalid {
                reason: one_line_error(&err),
            })?;
        let exports = Exports {
            memory: (module.get_export_index(export::MEMORY)).ok_or(ExecuteError::NoMemory)?,
            entries,
        };
        let warmth = self.warmth(&module, memory_bytes).map(Arc::new);
        Ok(Compiled {
            module,
            pre,
            exports,
            origin: Origin::Loaded,
            warmth,
        })
    }

    /// The warm instances of `module`, if `instrument` marked it and its initial memory is
    /// no larger than what wasmtime itself resets in user space: a larger one would cost
    /// a copy of all of it a call, where wasmtime gives the rest back to the kernel.
    fn warmth(&self, module: &Module, memory_bytes: u64) -> Option<Warmth> {
        module.get_export_index(instrument::WARM)?;
        if memory_bytes > KEEP_RESIDENT as u64 {
            return None;
        }
        let globals = (module.exports())
            .filter(|item| item.name().starts_with(instrument::GLOBAL))
            .map(|item| module.get_export_index(item.name()))
            .collect::<Option<Vec<_>>>()?;
        Some(Warmth::new(globals, Arc::clone(&self.warm)))
    }
}

/// Tells glibc's malloc to keep the memory it has, once per process.
///
/// Each call allocates and frees its store, its write log and its buffers on a worker
/// thread, so in a per-thread arena. By default glibc gives the top of an arena back
/// (`madvise`/shrink) once more than 128 KiB is free there, and takes it again
/// (`mprotect`) at the next call: about two memory-map system calls a call
/// (`strace -f -c commute tick --threads 2`, 1,000 `analytics.view` calls: 1,783
/// `mprotect`), each taking the process's memory-map lock. With trimming off, the arena
/// grown in 16 MiB steps, and allocations under 32 MiB served from the arena rather than
/// by `mmap`, the steady state makes none; the cost is that freed memory stays with the
/// process.
fn keep_heaps_resident() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets malloc's parameters; it is thread-safe, and the
            // values are in the ranges glibc documents (M_MMAP_THRESHOLD at most
            // HEAP_MAX_SIZE / 2 = 32 MiB on 64-bit).
            unsafe {
                libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
                libc::mallopt(libc::M_TOP_PAD, 16 << 20);
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            }
        });
    }
}

/// The bytes start like a core wasm module: the magic `\0asm` and version 1.
fn check_header(wasm: &[u8]) -> Result<(), ExecuteError> {
    let not_wasm = |reason: String| Err(ExecuteError::NotWasm { reason });
    match wasm {
        [0, b'a', b's', b'm', 1, 0, 0, 0, ..] => Ok(()),
        [0, b'a', b's', b'm', v0, v1, 1, 0, ..] => not_wasm(format!(
            "it is a wasm component (layer 1, version {}); commute runs core modules",
            u16::from_le_bytes([*v0, *v1])
        )),
        [0, b'a', b's', b'm', version @ ..] if version.len() >= 4 => not_wasm(format!(
            "unknown wasm version {}",
            u32::from_le_bytes([version[0], version[1], version[2], version[3]])
        )),
        _ if wasm.len() < 8 => {
            not_wasm(format!("{} bytes, shorter than a wasm header", wasm.len()))
        }
        _ => not_wasm(format!(
            "it starts with {:02x?}, not the wasm magic \\0asm",
            &wasm[..4]
        )),
    }
}

/// The most functions a module may define or import, as on the IC.
pub const MAX_FUNCTIONS: u32 = 50_000;
/// The most bytes of code (the code section), as on the IC (11 MiB there).
pub const MAX_CODE_BYTES: usize = 12 << 20;
/// The most bytes of one function's body: cranelift's time and memory grow with a
/// function's size, and compile several at once.
pub const MAX_FUNCTION_BYTES: usize = 1 << 20;

/// Refuses, before cranelift sees it, a module whose compile would take more time or
/// memory than an install should: over [`MAX_FUNCTIONS`], [`MAX_CODE_BYTES`] or
/// [`MAX_FUNCTION_BYTES`]. A module that does not parse is left to the compiler's error.
///
/// ```
/// use commute::execute::{check_size, ExecuteError, MAX_FUNCTIONS};
///
/// let funcs = |n: u32| {
///     let body: String = (0..n).map(|_| "(func)").collect();
///     wat::parse_str(format!("(module {body})")).unwrap()
/// };
/// assert!(check_size(&funcs(MAX_FUNCTIONS)).is_ok());
/// let err = check_size(&funcs(MAX_FUNCTIONS + 1)).unwrap_err();
/// assert!(matches!(err, ExecuteError::TooLarge { .. }));
/// assert_eq!(err.to_string(), "module too large to compile: 50001 functions, over the limit of 50000");
/// ```
pub fn check_size(wasm: &[u8]) -> Result<(), ExecuteError> {
    use wasmparser::{Parser, Payload, TypeRef};
    let too_large = |what: String| Err(ExecuteError::TooLarge { what });
    let mut functions: u64 = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else {
            return Ok(());
        };
        match payload {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports().flatten() {
                    functions += u64::from(matches!(import.ty, TypeRef::Func(_)));
                }
            }
            Payload::FunctionSection(section) => functions += u64::from(section.count()),
            Payload::CodeSectionStart { size, .. } if size as usize > MAX_CODE_BYTES => {
                return too_large(format!(
                    "{size} bytes of code, over the limit of {MAX_CODE_BYTES}"
                ));
            }
            Payload::CodeSectionEntry(body) if body.range().len() > MAX_FUNCTION_BYTES => {
                return too_large(format!(
                    "a function of {} bytes, over the limit of {MAX_FUNCTION_BYTES}",
                    body.range().len()
                ));
            }
            _ => {}
        }
        if functions > u64::from(MAX_FUNCTIONS) {
            return too_large(format!(
                "{functions} functions, over the limit of {MAX_FUNCTIONS}"
            ));
        }
    }
    Ok(())
}

fn kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "function",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        ExternType::Tag(_) => "tag",
    }
}

fn same_types(got: impl ExactSizeIterator<Item = ValType>, want: &[AbiType]) -> bool {
    got.len() == want.len()
        && got.zip(want).all(|(got, want)| match want {
            AbiType::I32 => matches!(got, ValType::I32),
            AbiType::I64 => matches!(got, ValType::I64),
        })
}

/// `name(i32, i64) -> i32`, as the module declares it.
fn signature(name: &str, ty: &FuncType) -> String {
    let list = |types: &mut dyn Iterator<Item = ValType>| {
        types.map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    };
    let params = list(&mut ty.params());
    match ty.results().len() {
        0 => format!("{name}({params})"),
        _ => format!("{name}({params}) -> {}", list(&mut ty.results())),
    }
}

/// A wasmtime error and its causes, on one line.
pub(super) fn one_line_error(err: &wasmtime::Error) -> String {
    let text = format!("{err:#}");
    one_line(text.as_bytes(), usize::MAX / 2)
}

/// One canister's module: validated by [`Engine::compile`], compiled, and linked against
/// the host's imports. Cheap to clone (wasmtime keeps the code behind `Arc`s); any number
/// of threads may [`execute`](Compiled::execute) it at once.
///
/// # Examples
///
/// ```
/// use commute::execute::{Engine, Limits};
///
/// let engine = Engine::new(Limits::default())?;
/// let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "canister_query hi")))"#)?;
/// let compiled = engine.compile(&wasm)?;
/// assert!(compiled.has_export("canister_query hi"));
/// assert!(!compiled.has_export("canister_update hi"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Compiled {
    pub(super) module: Module,
    pub(super) pre: InstancePre<Host>,
    pub(super) exports: Exports,
    origin: Origin,
    /// Its warm instances, if they can be reset (`warm.rs`); else every call instantiates
    /// it afresh.
    pub(super) warmth: Option<Arc<Warmth>>,
}

/// A module's memory and entry points by index, found by name once, when [`Engine::check`]
/// checked them: a lookup by name and a type check at every call (`get_typed_func`, which
/// loads the function's type from the engine's registry) were ~0.27 µs of a call (2,000
/// `analytics.view` calls at 1 thread, submit and tick: 20.03 → 19.50 ms).
#[derive(Clone)]
pub(super) struct Exports {
    /// The memory (`check`: every module has one).
    pub(super) memory: ModuleExport,
    /// Every canister entry point (`check`: each a function of type `() -> ()`).
    entries: hashbrown::HashMap<String, ModuleExport>,
}

impl Exports {
    /// Entry point `name`, if the module exports it.
    pub(super) fn entry(&self, name: &str) -> Option<&ModuleExport> {
        self.entries.get(name)
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiled")
            .field("module", &self.module.name())
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// Whether the module exports a function by this name (`canister_update log`,
    /// `canister_init`, …). Entry points are checked to be `() -> ()` at compile time.
    ///
    /// # Examples
    ///
    /// See [`Compiled`].
    pub fn has_export(&self, name: &str) -> bool {
        matches!(self.module.get_export(name), Some(ExternType::Func(_)))
    }

    /// Whether this process compiled the module or loaded it from a data dir.
    ///
    /// # Examples
    ///
    /// See [`Engine::module`].
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// This module with a pool of warm instances of its own, empty (`warm.rs`): for a
    /// holder whose instances should go when it drops the module.
    pub(super) fn with_own_warmth(&self) -> Compiled {
        Compiled {
            warmth: (self.warmth.as_deref()).map(|warmth| Arc::new(warmth.emptied())),
            ..self.clone()
        }
    }
}
