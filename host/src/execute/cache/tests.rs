//! The module cache: single flight, artifacts kept and loaded, bad artifacts refused.

use std::sync::Barrier;

use super::{framed, CacheStats, Origin};
use crate::execute::{Engine, Limits};

/// A small module with an entry point, so the checks have something to look at.
fn wasm() -> Vec<u8> {
    wat::parse_str(
        r#"(module
          (import "ic0" "msg_reply" (func $reply))
          (memory (export "memory") 1)
          (func (export "canister_query hi") (call $reply)))"#,
    )
    .unwrap()
}

fn engine() -> Engine {
    Engine::new(Limits::default()).unwrap()
}

fn stats(compiled: u64, loaded: u64, refused: u64) -> CacheStats {
    CacheStats {
        compiled,
        loaded,
        refused,
    }
}

/// (A): eight threads asking at once for one module get one compile between them.
#[test]
fn eight_threads_asking_at_once_compile_once() {
    let engine = engine();
    let wasm = wasm();
    let start = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                start.wait();
                let module = engine.module(&wasm, None).unwrap();
                assert!(module.has_export("canister_query hi"));
            });
        }
    });
    assert_eq!(engine.cache_stats(), stats(1, 0, 0));
}

/// A module compiled once is kept, and another engine (a new process) loads it.
#[test]
fn a_kept_module_is_loaded_not_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm();
    let first = engine();
    assert_eq!(
        first.module(&wasm, Some(dir.path())).unwrap().origin(),
        Origin::Compiled
    );
    assert!(first.artifact_path(dir.path(), &wasm).is_file());
    let second = engine();
    let loaded = second.module(&wasm, Some(dir.path())).unwrap();
    assert_eq!(loaded.origin(), Origin::Loaded);
    assert!(loaded.has_export("canister_query hi"));
    assert_eq!(second.cache_stats(), stats(0, 1, 0));
    // Asked again, the engine has it: no second load.
    second.module(&wasm, Some(dir.path())).unwrap();
    assert_eq!(second.cache_stats(), stats(0, 1, 0));
}

/// (B): a corrupt file (one bit flipped, cut short, empty, not ours) is never
/// deserialized; the module is compiled again and the file replaced by a good one.
#[test]
fn a_corrupt_artifact_is_refused_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm();
    engine().module(&wasm, Some(dir.path())).unwrap();
    let path = engine().artifact_path(dir.path(), &wasm);
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    let cut = good[..good.len() / 2].to_vec();
    for bad in [flipped, cut, Vec::new(), b"not an artifact".to_vec()] {
        std::fs::write(&path, &bad).unwrap();
        let engine = engine();
        let module = engine.module(&wasm, Some(dir.path())).unwrap();
        assert_eq!(module.origin(), Origin::Compiled);
        assert_eq!(engine.cache_stats(), stats(1, 0, 1));
        assert_ne!(std::fs::read(&path).unwrap(), bad, "the file is replaced");
        let next = self::engine();
        assert_eq!(
            next.module(&wasm, Some(dir.path())).unwrap().origin(),
            Origin::Loaded
        );
    }
}

/// (B): a well-framed file that another configuration wrote (as another wasmtime
/// version would) is refused by wasmtime, compiled again and replaced.
#[test]
fn an_artifact_of_another_configuration_is_refused_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm();
    let engine = engine();
    let path = engine.artifact_path(dir.path(), &wasm);
    let mut other = wasmtime::Config::new();
    other.consume_fuel(false);
    let other = wasmtime::Engine::new(&other).unwrap();
    let payload = wasmtime::Module::new(&other, &wasm)
        .unwrap()
        .serialize()
        .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, framed(&payload)).unwrap();
    let module = engine.module(&wasm, Some(dir.path())).unwrap();
    assert_eq!(module.origin(), Origin::Compiled);
    assert_eq!(engine.cache_stats(), stats(1, 0, 1));
    assert_eq!(
        self::engine()
            .module(&wasm, Some(dir.path()))
            .unwrap()
            .origin(),
        Origin::Loaded
    );
}

/// (C): a good file of a module the checks refuse (here: an import outside the ABI,
/// compiled by a bare engine of the same configuration) is not admitted by loading.
#[test]
fn a_loaded_module_passes_the_same_checks() {
    let dir = tempfile::tempdir().unwrap();
    let bad =
        wat::parse_str(r#"(module (import "env" "abort" (func)) (memory (export "memory") 1))"#)
            .unwrap();
    let engine = engine();
    let bare = wasmtime::Engine::new(&crate::execute::pooled_wasmtime_config()).unwrap();
    let payload = wasmtime::Module::new(&bare, &bad)
        .unwrap()
        .serialize()
        .unwrap();
    let path = engine.artifact_path(dir.path(), &bad);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, framed(&payload)).unwrap();
    let err = engine.module(&bad, Some(dir.path())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wasm imports env.abort, which is not in the commute ABI (docs/guest-abi.md)"
    );
    assert_eq!(engine.cache_stats(), stats(0, 0, 1));
}

/// (D): a data dir where the file cannot be written still gets its module.
#[test]
fn an_unwritable_dir_costs_only_the_artifact() {
    let dir = tempfile::tempdir().unwrap();
    // `modules` is a file, so the folder cannot be made.
    std::fs::write(dir.path().join(super::MODULES_DIR), b"in the way").unwrap();
    let engine = engine();
    let module = engine.module(&wasm(), Some(dir.path())).unwrap();
    assert_eq!(module.origin(), Origin::Compiled);
    assert_eq!(engine.cache_stats(), stats(1, 0, 0));
}
