//! [`Engine`]: wasmtime configured for determinism, with the ABI's imports defined; and
//! [`Compiled`]: one canister's checked module, ready to instantiate.

use std::fmt;
use std::sync::Arc;

use commute_abi::{export, ValType as AbiType};
use wasmtime::{
    Config, Enabled, ExternType, FuncType, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ValType,
};

use super::host::{self, Host};
use super::limits::Limits;
use super::message::one_line;
use super::ExecuteError;

/// The most table elements an instance may have. Rust-built canisters have one table with
/// an entry per function called indirectly: hundreds to a few thousand.
pub(super) const MAX_TABLE_ELEMENTS: usize = 20_000;

/// The most instances the pool holds at once, so the most calls that can run at the same
/// time on one [`Engine`]: far above the number of cores a round runs on plus the queries
/// served meanwhile.
const POOL_SLOTS: u32 = 256;

/// The most tables a module may have: Rust-built wasm has one; reference types allow more.
const MAX_TABLES: u32 = 4;

/// The bytes of a pool slot's memory kept mapped between calls and reset with `memset`.
const KEEP_RESIDENT: usize = 64 << 10;

/// The same where the dirty pages are known: only those are reset, so more can stay.
const KEEP_RESIDENT_SCANNED: usize = 4 << 20;

/// How instances get their memory; see [`Engine::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Allocation {
    /// wasmtime's pooling allocator with [`POOL_SLOTS`] slots.
    Pooling,
    /// A fresh mapping per instance.
    #[cfg_attr(not(test), allow(dead_code))]
    OnDemand,
}

/// wasmtime configured as DESIGN §7 requires, with [`Limits`] and the host side of every
/// import of [`commute_abi::IMPORTS`]. Cheap to clone, and shared by every thread.
///
/// The configuration and why each setting is there are in the [`crate::execute`] module
/// doc ("Determinism"). Instances come from wasmtime's pooling allocator, which recycles
/// slots of memory between calls instead of mapping and unmapping them: at most 256 calls
/// can be in flight on one engine at a time; one more returns [`ExecuteError::Host`].
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
    config.signals_based_traps(false).memory_guard_size(0);
    if allocation == Allocation::Pooling {
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
            .table_keep_resident(64 << 10);
        // Between calls a slot's memory is reset to the module's image. Where Linux
        // can tell which pages a call dirtied (PAGEMAP_SCAN, 6.7+), only those are
        // reset and stay mapped; elsewhere the first 64 KiB are reset with memset and
        // the rest is unmapped. Measured for a trivial guest (store, instance, call,
        // teardown; `tests::instantiate_cost`) on 16 cores: 4.5 µs a call on one
        // thread, 1.5 µs of wall time a call on eight; on demand (an mmap and munmap
        // per call) 15 to 19 µs on one thread and 37 µs on eight, as unmapping
        // serializes the threads. On 2 cores, memset of 64 KiB gave 9 µs a call and of
        // 1 MiB 19 µs, against 5 µs with the dirty pages known.
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(Enabled::Yes)
                .linear_memory_keep_resident(KEEP_RESIDENT_SCANNED);
        } else {
            pool.linear_memory_keep_resident(KEEP_RESIDENT);
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
        let engine_error = |err: wasmtime::Error| ExecuteError::Engine(one_line_error(&err));
        let config = wasmtime_config(allocation);
        let wasmtime = wasmtime::Engine::new(&config).map_err(engine_error)?;
        let mut linker = Linker::new(&wasmtime);
        host::define(&mut linker)?;
        Ok(Engine {
            wasmtime,
            linker: Arc::new(linker),
            limits,
        })
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
    /// Checks, in order: the bytes are a wasm module; it is valid under the configuration
    /// of the module doc; every import is a function of [`commute_abi::IMPORTS`] with the
    /// table's signature (invariant (B)); it exports its memory as `memory`, no larger at
    /// the start than [`Limits::memory_bytes`]; every entry point (`canister_init`,
    /// `canister_query …`, `canister_update …`) is a function `() -> ()`.
    ///
    /// # Errors
    ///
    /// [`ExecuteError::NotWasm`], [`ExecuteError::Invalid`],
    /// [`ExecuteError::ForbiddenImport`], [`ExecuteError::ImportSignature`],
    /// [`ExecuteError::ImportKind`], [`ExecuteError::NoMemory`],
    /// [`ExecuteError::MemoryTooLarge`] or [`ExecuteError::EntryPoint`], naming the
    /// import or export at fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Engine, Limits};
    ///
    /// let engine = Engine::new(Limits::default())?;
    /// let wasm = wat::parse_str(r#"(module (import "env" "abort" (func)) (memory (export "memory") 1))"#)?;
    /// let err = engine.compile(&wasm).unwrap_err();
    /// assert_eq!(err.to_string(), "wasm imports env.abort, which is not in the commute ABI (DESIGN §8)");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, ExecuteError> {
        check_header(wasm)?;
        let module =
            Module::from_binary(&self.wasmtime, wasm).map_err(|err| ExecuteError::Invalid {
                reason: one_line_error(&err),
            })?;
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
        match module.get_export(export::MEMORY) {
            Some(ExternType::Memory(memory)) => {
                let bytes = memory.minimum().saturating_mul(memory.page_size());
                if bytes > self.limits.memory_bytes {
                    return Err(ExecuteError::MemoryTooLarge {
                        bytes,
                        limit: self.limits.memory_bytes,
                    });
                }
            }
            _ => return Err(ExecuteError::NoMemory),
        }
        for item in module.exports() {
            if export::parse(item.name()).is_none() {
                continue;
            }
            let found = match item.ty() {
                ExternType::Func(ty) if ty.params().len() == 0 && ty.results().len() == 0 => {
                    continue
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
        Ok(Compiled { module, pre })
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
}
