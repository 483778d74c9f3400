//! `overhead_vs_wasmtime` and `tiny_vs_wasmtime`: what the host costs around a trivial
//! pure call.
//!
//! - Subject: a batch of calls through a host at 1 worker thread, taken as one round:
//!   `submit_batch` and `tick`, so the checks, the durable queue, each call on an
//!   instance in the module's initial state (a warm one, reset after its last call:
//!   `docs/modes.md`), merge, root, commit and both flushes. `overhead_vs_wasmtime` calls
//!   `analytics.view(page)` (16 pages, seeded: few distinct writes); `tiny_vs_wasmtime`
//!   calls `logger.log(user, event)`, every call its own user (a counter entry, a map
//!   entry and a list element each: the logging case).
//! - Baseline: the same module, the same arguments, in a bare wasmtime loop on 1 thread:
//!   a fresh `Store` with fuel, instantiate from an `InstancePre`, look up the export, call.
//!   The engine has exactly the configuration of `commute::execute::Engine`'s
//!   ([`commute::execute::pooled_wasmtime_config`]: fuel, NaN canonicalization, relaxed
//!   SIMD off, bounds checks, the same pool and the same user-space reset of its slots).
//!   Imports are stubs: the argument imports serve the argument, `trap` traps, every
//!   other import (the writes among them) returns zeros.
//!
//! The ratio is host calls per second ÷ bare calls per second. The bare loop is wasmtime
//! used the usual way, an instance per call; the host keeps its instances warm, which is
//! part of what it adds, so the ratio can pass 1.

use super::batch::{host_with, run_calls, OwnUsers, Ticking};
use super::progress::Progress;
use super::rng::SplitMix64;
use super::timing::{interleave, median, ms, round, speedup};
use super::Sizes;
use anyhow::{anyhow, bail, Context};
use commute::execute::Limits;
use commute::Config;
use commute_examples::{Canister, ANALYTICS, LOGGER};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wasmtime::{Caller, Engine, ExternType, InstancePre, Linker, Module, Store, Val, ValType};

/// The seed of the pages.
const SEED: u64 = 0x0e7e_4ead;

/// Measures `overhead_vs_wasmtime`; see the module doc.
///
/// # Errors
///
/// If the host, wasmtime or a call fails.
pub(crate) fn measure(sizes: Sizes, progress: &Progress) -> anyhow::Result<Value> {
    let mut rng = SplitMix64::new(SEED);
    let draw = move |calls: usize| -> Vec<Vec<u8>> {
        (0..calls)
            .map(|_| {
                let page = format!("/page/{}", rng.below(16));
                candid::encode_args((page,)).expect("a text encodes")
            })
            .collect()
    };
    against_bare(
        "overhead_vs_wasmtime",
        &ANALYTICS,
        "view",
        sizes,
        draw,
        progress,
    )
}

/// Measures `tiny_vs_wasmtime`; see the module doc.
///
/// # Errors
///
/// If the host, wasmtime or a call fails.
pub(crate) fn measure_tiny(sizes: Sizes, progress: &Progress) -> anyhow::Result<Value> {
    let mut users = OwnUsers::default();
    let draw = move |calls: usize| users.draw(calls);
    against_bare("tiny_vs_wasmtime", &LOGGER, "log", sizes, draw, progress)
}

/// `measure`'s line: `method` of `example` through a 1-thread host against the bare loop,
/// each repetition on a fresh batch from `draw`.
fn against_bare(
    measure: &str,
    example: &Canister,
    method: &str,
    sizes: Sizes,
    mut draw: impl FnMut(usize) -> Vec<Vec<u8>>,
    progress: &Progress,
) -> anyhow::Result<Value> {
    let calls = sizes.overhead_calls;
    let export = format!("canister_update {method}");
    progress.start(measure, 2 * (sizes.reps + 1));
    let config = Config {
        threads: 1,
        max_round_calls: calls.max(1),
        ..Config::default()
    };
    let mut host = host_with(example, config)?;
    let bare = Bare::new(example.wasm, Limits::default().fuel)?;
    let mut split = (Vec::new(), Vec::new());
    let times = interleave(sizes.reps, 2, |turn| {
        let args = draw(calls);
        let time = if turn.subject == 0 {
            let (submit, tick) =
                run_calls(&mut host, example.name, method, &args, Ticking::Pipelined)?;
            if turn.rep.is_some() {
                split.0.push(submit);
                split.1.push(tick);
            }
            submit + tick
        } else {
            let started = Instant::now();
            for arg in &args {
                bare.call(&export, arg)?;
            }
            started.elapsed()
        };
        progress.step();
        Ok::<_, anyhow::Error>(time)
    })?;
    let (host_time, bare_time) = (median(&times[0]), median(&times[1]));
    let per_call_us = |d: Duration| round(d.as_secs_f64() * 1e6 / calls as f64, 2);
    Ok(json!({
        "measure": measure,
        "ratio": speedup(bare_time, host_time),
        "calls": calls,
        "reps": sizes.reps,
        "threads": 1,
        "host_call_us": per_call_us(host_time),
        "bare_call_us": per_call_us(bare_time),
        "host_median_ms": ms(host_time),
        "host_submit_ms": ms(median(&split.0)),
        "host_tick_ms": ms(median(&split.1)),
        "bare_median_ms": ms(bare_time),
    }))
}

/// A store's data in the bare loop: the argument of the call.
struct Data {
    arg: Vec<u8>,
}

/// A bare wasmtime engine and one module, ready to instantiate with stub imports.
pub(crate) struct Bare {
    engine: Engine,
    pre: InstancePre<Data>,
    fuel: u64,
}

impl Bare {
    /// Compiles `wasm` on an engine configured as `commute::execute::Engine`'s, and links
    /// stubs for its imports.
    ///
    /// # Errors
    ///
    /// If wasmtime refuses the configuration, the module or the stubs.
    pub(crate) fn new(wasm: &[u8], fuel: u64) -> anyhow::Result<Bare> {
        let config = commute::execute::pooled_wasmtime_config();
        let engine = Engine::new(&config).map_err(|e| anyhow!("wasmtime: {e}"))?;
        let module = Module::from_binary(&engine, wasm).map_err(|e| anyhow!("wasmtime: {e}"))?;
        let mut linker: Linker<Data> = Linker::new(&engine);
        for import in module.imports() {
            let (m, n) = (import.module(), import.name());
            let ExternType::Func(ty) = import.ty() else {
                bail!("the module imports {m}.{n}, which is not a function");
            };
            let linked = match (m, n) {
                ("ic0", "msg_arg_data_size") => linker
                    .func_wrap(m, n, |caller: Caller<'_, Data>| {
                        caller.data().arg.len() as i32
                    })
                    .map(|_| ()),
                ("ic0", "msg_arg_data_copy") => linker.func_wrap(m, n, arg_data_copy).map(|_| ()),
                ("ic0", "trap") => linker
                    .func_wrap(
                        m,
                        n,
                        |_: Caller<'_, Data>, _: i32, _: i32| -> wasmtime::Result<()> {
                            Err(wasmtime::Error::msg("the guest trapped"))
                        },
                    )
                    .map(|_| ()),
                _ => {
                    let results: Vec<ValType> = ty.results().collect();
                    linker
                        .func_new(m, n, ty.clone(), move |_, _, out| {
                            for (slot, ty) in out.iter_mut().zip(&results) {
                                *slot = zero(ty);
                            }
                            Ok(())
                        })
                        .map(|_| ())
                }
            };
            linked.map_err(|e| anyhow!("cannot link {m}.{n}: {e}"))?;
        }
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| anyhow!("wasmtime: {e}"))?;
        Ok(Bare { engine, pre, fuel })
    }

    /// One call: a fresh store with fuel, a fresh instance, the export called with `arg`.
    ///
    /// # Errors
    ///
    /// If instantiation fails or the call traps.
    pub(crate) fn call(&self, export: &str, arg: &[u8]) -> anyhow::Result<()> {
        let mut store = Store::new(&self.engine, Data { arg: arg.to_vec() });
        store
            .set_fuel(self.fuel)
            .map_err(|e| anyhow!("wasmtime: {e}"))?;
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| anyhow!("wasmtime: {e}"))?;
        let entry = instance
            .get_typed_func::<(), ()>(&mut store, export)
            .map_err(|e| anyhow!("wasmtime: {e}"))?;
        entry
            .call(&mut store, ())
            .map_err(|e| anyhow!("bare `{export}` trapped: {e}"))
            .context("the baseline must run the call as the host does")
    }

    /// Calls `export` once with each of `args`, spread over `pool`, as a host's round
    /// spreads its calls; returns how long that took.
    ///
    /// # Errors
    ///
    /// If a call fails, as [`Bare::call`].
    pub(crate) fn call_all(
        &self,
        pool: &rayon::ThreadPool,
        export: &str,
        args: &[Vec<u8>],
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        pool.install(|| args.par_iter().try_for_each(|arg| self.call(export, arg)))?;
        Ok(started.elapsed())
    }
}

/// `ic0.msg_arg_data_copy(dst, offset, size)`: copies the argument into guest memory.
fn arg_data_copy(
    mut caller: Caller<'_, Data>,
    dst: i32,
    offset: i32,
    size: i32,
) -> wasmtime::Result<()> {
    let memory = caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::Error::msg("no memory export"))?;
    let (mem, data) = memory.data_and_store_mut(&mut caller);
    let (dst, offset, size) = (
        dst as u32 as usize,
        offset as u32 as usize,
        size as u32 as usize,
    );
    let src = data
        .arg
        .get(offset..offset + size)
        .ok_or_else(|| wasmtime::Error::msg("argument range out of bounds"))?;
    mem.get_mut(dst..dst + size)
        .ok_or_else(|| wasmtime::Error::msg("memory range out of bounds"))?
        .copy_from_slice(src);
    Ok(())
}

/// The zero of a value type, for stub results.
fn zero(ty: &ValType) -> Val {
    match ty {
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        _ => Val::I32(0),
    }
}
