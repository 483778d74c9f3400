//! The execute stage on hand-written WAT guests (`tests/guests/*.wat`): a well-behaved
//! canister, and hostile ones.

use std::sync::OnceLock;

use commute_abi::call_pure_status::NO_SUCH_CANISTER;
use commute_abi::{Mode, IMPORTS};

use super::engine::Allocation;
use super::model::Model;
use super::{
    Call, CanisterState, Child, ChildCalls, Compiled, Engine, ExecuteError, Execution, Limits,
    Outcome, Refused, StateView,
};
use crate::merge::Delta;
use crate::store::Store;
use crate::write_log::{Op, WriteLog};

macro_rules! guest {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/guests/",
            $name,
            ".wat"
        ))
    };
}

/// The default limits, shared by the tests that need no others.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(Limits::default()).unwrap())
}

/// Tight limits: little fuel, 16 bytes of argument and reply.
fn tight() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(Limits {
            fuel: 2_000_000,
            arg_bytes: 16,
            ..Limits::default()
        })
        .unwrap()
    })
}

fn compile(engine: &Engine, wat: &str) -> Compiled {
    engine.compile(&wat::parse_str(wat).unwrap()).unwrap()
}

fn compile_err(wat: &str) -> ExecuteError {
    engine()
        .compile(&wat::parse_str(wat).unwrap())
        .expect_err("compile should refuse this module")
}

/// Accepts `logger.log`, normalizing the argument to `ok:ARG`; refuses everything else.
struct Children;

impl ChildCalls for Children {
    fn validate(&self, canister: &str, method: &str, arg: &[u8]) -> Result<Vec<u8>, Refused> {
        if (canister, method) == ("logger", "log") {
            Ok([b"ok:", arg].concat())
        } else {
            Err(Refused::new(
                NO_SUCH_CANISTER,
                format!("no {canister}.{method}"),
            ))
        }
    }
}

/// A call of `method` in `mode`, exported as the IC names it.
fn call<'a>(mode: Mode, method: &'a str, export: &'a str, arg: &'a [u8]) -> Call<'a> {
    Call {
        canister: "test",
        self_principal: b"\x01self",
        method,
        export,
        mode,
        caller: b"ann",
        arg,
        time: 1_700_000_000_123_456_789,
    }
}

fn run_on(
    engine: &Engine,
    compiled: &Compiled,
    mode: Mode,
    method: &str,
    arg: &[u8],
    state: &dyn StateView,
) -> Execution {
    let export = commute_abi::export::method(mode, method);
    compiled
        .execute(engine, &call(mode, method, &export, arg), state, &Children)
        .unwrap()
}

fn run(compiled: &Compiled, mode: Mode, method: &str) -> Execution {
    run_on(engine(), compiled, mode, method, b"", &Model::default())
}

/// A pure update of `method` with no argument, under the tight limits.
fn pure_on_tight(compiled: &Compiled, method: &str) -> Execution {
    run_on(
        tight(),
        compiled,
        Mode::PureUpdate,
        method,
        b"",
        &Model::default(),
    )
}

fn trapped(execution: &Execution) -> &str {
    match &execution.outcome {
        Outcome::Trapped(message) => {
            // Invariant (D).
            assert!(execution.log.is_empty(), "a trapped call keeps no writes");
            assert!(
                execution.children.is_empty(),
                "a trapped call fires nothing"
            );
            assert!(!message.contains('\n'), "trap messages are one line");
            message
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn counter(name: &[u8], key: &[u8], delta: i64) -> Op {
    Op::CounterAdd {
        name: name.to_vec(),
        key: key.to_vec(),
        delta,
    }
}

fn put(name: &[u8], key: &[u8], value: &[u8]) -> Op {
    Op::MapPut {
        name: name.to_vec(),
        key: key.to_vec(),
        value: value.to_vec(),
    }
}

fn push(name: &[u8], value: &[u8]) -> Op {
    Op::ListPush {
        name: name.to_vec(),
        value: value.to_vec(),
    }
}

fn log_of(ops: &[Op]) -> WriteLog {
    let mut log = WriteLog::default();
    for op in ops {
        log.push(op.clone()).unwrap();
    }
    log
}

// ---- the well-behaved guest ----

#[test]
fn pure_update_emits_writes_and_children() {
    let guest = compile(engine(), guest!("well_behaved"));
    let run = run_on(
        engine(),
        &guest,
        Mode::PureUpdate,
        "log",
        b"DIDL-hi",
        &Model::default(),
    );
    assert_eq!(run.outcome, Outcome::Done);
    let want = [
        counter(b"hits", b"", 1),
        put(b"last", b"ann", b"DIDL-hi"),
        push(b"events", b"DIDL-hi"),
    ];
    assert_eq!(run.log, log_of(&want));
    assert_eq!(
        run.children,
        [Child {
            canister: "logger".into(),
            method: "log".into(),
            arg: b"ok:DIDL-hi".to_vec(),
        }]
    );
    assert!(run.fuel_used > 6 * super::HOST_CALL_FUEL);
}

/// What `rw` replies over a state with hits = 10, m = {a: old, c: c}, events = [e0].
fn rw_reply() -> Vec<u8> {
    [
        &15i128.to_le_bytes()[..],
        b"own",
        &(-1i32).to_le_bytes(),
        b"b",
        &2u64.to_le_bytes(),
        b"own",
    ]
    .concat()
}

fn rw_base() -> [Op; 4] {
    [
        counter(b"hits", b"", 10),
        put(b"m", b"a", b"old"),
        put(b"m", b"c", b"c"),
        push(b"events", b"e0"),
    ]
}

#[test]
fn update_reads_its_own_writes() {
    let guest = compile(engine(), guest!("well_behaved"));
    let base = Model::default().applied(&rw_base());
    let run = run_on(engine(), &guest, Mode::Update, "rw", b"", &base);
    assert_eq!(run.outcome, Outcome::Replied(rw_reply()));
    assert_eq!(run.log.len(), 4);
    // Invariant (H): the same call on the same state gives the same execution.
    assert_eq!(
        run,
        run_on(engine(), &guest, Mode::Update, "rw", b"", &base)
    );
}

#[test]
fn update_reads_the_store_through_canister_state() {
    let guest = compile(engine(), guest!("well_behaved"));
    let mut store = Store::temporary().unwrap();
    store
        .apply(&Delta::from_call(1, "test", &log_of(&rw_base())))
        .unwrap();
    let state = CanisterState::new(store.reader(), "test");
    let run = run_on(engine(), &guest, Mode::Update, "rw", b"", &state);
    assert_eq!(run.outcome, Outcome::Replied(rw_reply()));
    // Another canister's state is another scope.
    let other = CanisterState::new(store.reader(), "other");
    let run = run_on(engine(), &guest, Mode::Query, "hits", b"", &other);
    assert_eq!(run.outcome, Outcome::Replied(0i128.to_le_bytes().to_vec()));
}

#[test]
fn query_replies_with_committed_state() {
    let guest = compile(engine(), guest!("well_behaved"));
    let base = Model::default().applied(&[counter(b"hits", b"", -7)]);
    let run = run_on(engine(), &guest, Mode::Query, "hits", b"", &base);
    assert_eq!(
        run.outcome,
        Outcome::Replied((-7i128).to_le_bytes().to_vec())
    );
    assert!(run.log.is_empty());
}

#[test]
fn context_imports_follow_the_ic() {
    let guest = compile(engine(), guest!("well_behaved"));
    let run = run_on(
        engine(),
        &guest,
        Mode::Query,
        "context",
        b"DIDL\x00\x01\x71\x02hi",
        &Model::default(),
    );
    let want = [
        &b"DIDL\x00\x01\x71\x02hi"[..],
        b"ann",
        b"\x01self",
        &1_700_000_000_123_456_789u64.to_le_bytes(),
    ]
    .concat();
    assert_eq!(run.outcome, Outcome::Replied(want));
}

/// Invariant (A): globals and memory start fresh on every call.
#[test]
fn every_call_gets_a_fresh_instance() {
    let guest = compile(engine(), guest!("well_behaved"));
    for _ in 0..3 {
        assert_eq!(
            run(&guest, Mode::Query, "fresh").outcome,
            Outcome::Replied(vec![])
        );
    }
}

/// Invariant (A) on a reused pool slot: after a call that overwrote its data segment,
/// pages of its initial and of grown memory, its mutable global and its table, the next
/// call on the same engine and thread (with the pooling allocator, the same warm slot)
/// sees the module's initial values only.
#[test]
fn a_reused_slot_starts_from_the_initial_state() {
    // An engine of its own, so no other test's calls take or warm its slots meanwhile.
    let engine = Engine::new(Limits::default()).unwrap();
    let guest = compile(&engine, guest!("scribbler"));
    // It changes its table, which a warm instance's reset would not put back, so every
    // call instantiates it afresh (`instrument.rs`, invariant (A)).
    assert!(guest.warmth.is_none());
    let look = || run_on(&engine, &guest, Mode::Query, "look", b"", &Model::default());
    let initial = [
        &b"init"[..],
        &0u32.to_le_bytes(),
        &7i64.to_le_bytes(),
        &2i32.to_le_bytes(),
        &1i32.to_le_bytes(),
        &2i32.to_le_bytes(),
        &(-1i32).to_le_bytes(),
    ]
    .concat();
    assert_eq!(look().outcome, Outcome::Replied(initial.clone()));
    for round in 0..50 {
        let scribble = run_on(
            &engine,
            &guest,
            Mode::Update,
            "scribble",
            b"",
            &Model::default(),
        );
        assert_eq!(scribble.outcome, Outcome::Replied(vec![]), "round {round}");
        assert_eq!(
            look().outcome,
            Outcome::Replied(initial.clone()),
            "round {round}"
        );
    }
}

/// A start function runs as part of the call that instantiates the module, on the call's
/// budget: its fuel counts in `fuel_used`, and what it leaves is not a second budget.
#[test]
fn a_start_function_spends_the_calls_fuel() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (func $burn (param $n i32)
        (loop $l
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (local.get $n))))
      (func $start (call $burn (i32.const 200000)))
      (start $start)
      (func (export "canister_update cheap"))
      (func (export "canister_update spin") (call $burn (i32.const 200000))))"#;
    let guest = compile(tight(), wat);
    assert!(
        guest.warmth.is_none(),
        "a start function rules out warm instances"
    );
    let run = |method| pure_on_tight(&guest, method);
    let cheap = run("cheap");
    assert_eq!(cheap.outcome, Outcome::Done);
    assert!(cheap.fuel_used > 1_000_000, "{}", cheap.fuel_used);
    let spin = run("spin");
    assert!(
        trapped(&spin).contains("ran out of fuel"),
        "{:?}",
        spin.outcome
    );
    assert_eq!(spin.fuel_used, tight().limits().fuel);
}

#[test]
fn init_oneway_and_print_finish() {
    let guest = compile(engine(), guest!("well_behaved"));
    let init = run(&guest, Mode::Init, "");
    assert_eq!(init.outcome, Outcome::Done);
    assert_eq!(init.log, log_of(&[counter(b"hits", b"", 100)]));
    // A oneway's reply is discarded; its writes are kept.
    let fire = run(&guest, Mode::Oneway, "fire");
    assert_eq!(fire.outcome, Outcome::Done);
    assert_eq!(fire.log, log_of(&[push(b"events", b"own")]));
    let print = run(&guest, Mode::Update, "print");
    assert_eq!(print.outcome, Outcome::Replied(vec![]));
}

#[test]
fn missing_entry_point_traps() {
    let guest = compile(engine(), guest!("well_behaved"));
    let run = run(&guest, Mode::Update, "nope");
    assert_eq!(
        trapped(&run),
        "update `nope` has no entry point `canister_update nope`"
    );
    assert!(guest.has_export("canister_update rw"));
    assert!(guest.has_export("canister_init"));
    assert!(!guest.has_export("canister_update nope"));
    assert!(!guest.has_export("memory"), "memory is not a function");
}

// ---- hostile guests ----

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let guest = compile(tight(), guest!("infinite_loop"));
    for method in ["spin", "busy"] {
        let run = pure_on_tight(&guest, method);
        assert_eq!(
            trapped(&run),
            format!("pure update `{method}` ran out of fuel: its budget is 2000000 per call")
        );
        assert_eq!(run.fuel_used, 2_000_000);
    }
}

#[test]
fn memory_bomb_is_capped_at_64_mib() {
    let guest = compile(engine(), guest!("memory_bomb"));
    let bomb = run(&guest, Mode::Update, "bomb");
    // 16 pages to start, 16 more at a time: exactly 1024 pages = 64 MiB, then -1.
    assert_eq!(
        bomb.outcome,
        Outcome::Replied(1024u32.to_le_bytes().to_vec())
    );
    let huge = run(&guest, Mode::Update, "huge");
    assert_eq!(
        huge.outcome,
        Outcome::Replied((-1i32).to_le_bytes().to_vec())
    );
}

#[test]
fn memory_over_the_cap_at_the_start_is_refused() {
    let err = compile_err(guest!("memory_too_big"));
    assert_eq!(
        err.to_string(),
        "wasm memory starts at 134217728 bytes, over the limit of 67108864 bytes"
    );
}

#[test]
fn write_flood_traps_and_keeps_nothing() {
    let guest = compile(engine(), guest!("write_flood"));
    let flood = run(&guest, Mode::PureUpdate, "flood");
    assert_eq!(
        trapped(&flood),
        "pure update `flood`: write log cap exceeded: op 16385 is over the limit of 16384 ops per call"
    );
    let heavy = run(&guest, Mode::PureUpdate, "heavy");
    assert_eq!(
        trapped(&heavy),
        "pure update `heavy`: write log cap exceeded: op 4 brings the log to 4194324 bytes, over the limit of 4194304 bytes per call"
    );
}

/// `docs/guest-abi.md`: every read import and `msg_reply*` traps in a pure call, naming the method
/// and the import; the call's earlier write is dropped.
#[test]
fn pure_reads_and_replies_trap_naming_the_import() {
    let guest = compile(engine(), guest!("mode_probe"));
    let forbidden: Vec<_> = IMPORTS
        .iter()
        .filter(|i| !i.allowed_in(Mode::PureUpdate))
        .collect();
    assert_eq!(forbidden.len(), 8, "5 reads and 3 replies");
    for import in forbidden {
        let run = run(&guest, Mode::PureUpdate, import.name);
        let verb = match import.class {
            commute_abi::Class::Read => "read state",
            _ => "reply",
        };
        assert_eq!(
            trapped(&run),
            format!(
                "pure update `{0}` called {1}.{0}: pure updates cannot {verb}",
                import.name, import.module
            )
        );
    }
}

/// `docs/guest-abi.md`: every write import (and `call_pure`) traps in a query, naming it.
#[test]
fn query_writes_trap_naming_the_import() {
    let guest = compile(engine(), guest!("mode_probe"));
    let forbidden: Vec<_> = IMPORTS
        .iter()
        .filter(|i| !i.allowed_in(Mode::Query))
        .collect();
    assert_eq!(forbidden.len(), 5, "4 writes and call_pure");
    for import in forbidden {
        let run = run(&guest, Mode::Query, import.name);
        let verb = match import.class {
            commute_abi::Class::Write => "write state",
            _ => "fire calls",
        };
        assert_eq!(
            trapped(&run),
            format!(
                "query `{0}` called commute.{0}: queries cannot {verb}",
                import.name
            )
        );
    }
}

/// Invariant (C) as the whole matrix: an import traps for its mode exactly when the ABI
/// table says it is not allowed there.
#[test]
fn mode_rules_follow_the_abi_table() {
    let guest = compile(engine(), guest!("mode_probe"));
    for mode in Mode::ALL {
        for import in IMPORTS {
            let export = if mode == Mode::Query {
                format!("canister_query {}", import.name)
            } else {
                format!("canister_update {}", import.name)
            };
            let call = call(mode, import.name, &export, b"");
            let run = guest
                .execute(engine(), &call, &Model::default(), &Children)
                .unwrap();
            let refused = matches!(
                &run.outcome,
                Outcome::Trapped(m) if m.contains(&format!("called {}.{}:", import.module, import.name))
            );
            assert_eq!(
                refused,
                !import.allowed_in(mode),
                "{import} in {mode}: {:?}",
                run.outcome
            );
        }
    }
}

#[test]
fn forbidden_import_is_refused_by_name() {
    let err = compile_err(guest!("forbidden_import"));
    assert!(
        matches!(&err, ExecuteError::ForbiddenImport { import } if import == "ic0.stable64_write")
    );
    assert_eq!(
        err.to_string(),
        "wasm imports ic0.stable64_write, which is not in the commute ABI (docs/guest-abi.md)"
    );
    let err =
        compile_err(r#"(module (import "env" "map_get" (func)) (memory (export "memory") 1))"#);
    assert_eq!(
        err.to_string(),
        "wasm imports env.map_get, which is not in the commute ABI (docs/guest-abi.md)"
    );
}

#[test]
fn import_with_another_signature_or_kind_is_refused() {
    let err = compile_err(
        r#"(module (import "ic0" "time" (func (result i32))) (memory (export "memory") 1))"#,
    );
    assert_eq!(
        err.to_string(),
        "wasm imports ic0.time as ic0.time() -> i32, but the ABI says ic0.time() -> i64 (docs/guest-abi.md)"
    );
    let err = compile_err(
        r#"(module (import "commute" "list_len" (func (param i32 i32))) (memory (export "memory") 1))"#,
    );
    assert!(err.to_string().starts_with(
        "wasm imports commute.list_len as commute.list_len(i32, i32), but the ABI says"
    ));
    let err =
        compile_err(r#"(module (import "ic0" "time" (global i64)) (memory (export "memory") 1))"#);
    assert_eq!(
        err.to_string(),
        "wasm imports ic0.time as a global; commute imports are functions"
    );
    let err = compile_err(r#"(module (import "ic0" "memory" (memory 1)))"#);
    assert!(matches!(err, ExecuteError::ForbiddenImport { .. }));
}

#[test]
fn non_wasm_input_is_refused() {
    let not_wasm = |bytes: &[u8]| match engine().compile(bytes) {
        Err(ExecuteError::NotWasm { reason }) => reason,
        other => panic!("expected NotWasm, got {other:?}"),
    };
    assert_eq!(not_wasm(b""), "0 bytes, shorter than a wasm header");
    assert_eq!(
        not_wasm(b"#!/bin/sh\necho hi\n"),
        "it starts with [23, 21, 2f, 62], not the wasm magic \\0asm"
    );
    assert_eq!(
        not_wasm(b"\0asm\x0d\0\x01\0"),
        "it is a wasm component (layer 1, version 13); commute runs core modules"
    );
    assert_eq!(not_wasm(b"\0asm\x02\0\0\0"), "unknown wasm version 2");
    let err = engine().compile(b"\0asm\x01\0\0\0\xff\xff").unwrap_err();
    assert!(
        matches!(err, ExecuteError::Invalid { .. }),
        "a bad section is invalid wasm: {err}"
    );
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn modules_without_memory_or_with_odd_entry_points_are_refused() {
    let err = compile_err(r#"(module (func (export "canister_update f")))"#);
    assert!(matches!(err, ExecuteError::NoMemory));
    let err = compile_err(r#"(module (memory (export "mem") 1))"#);
    assert!(matches!(err, ExecuteError::NoMemory));
    let err = compile_err(
        r#"(module (memory (export "memory") 1) (func (export "canister_query q") (param i32)))"#,
    );
    assert_eq!(
        err.to_string(),
        "wasm export `canister_query q` is a function (i32); entry points are functions () -> ()"
    );
    let err = compile_err(
        r#"(module (memory (export "memory") 1) (global (export "canister_init") i32 (i32.const 0)))"#,
    );
    assert_eq!(
        err.to_string(),
        "wasm export `canister_init` is a global; entry points are functions () -> ()"
    );
    // Helper exports that are not entry points may be anything.
    compile(
        engine(),
        r#"(module (memory (export "memory") 1) (func (export "helper") (param i32) (result i32) (local.get 0)))"#,
    );
}

/// `docs/limits.md`: threads, relaxed SIMD and memory64 are off.
#[test]
fn nondeterministic_features_are_refused() {
    for wat in [
        r#"(module (memory (export "memory") 1 1 shared))"#,
        r#"(module (memory (export "memory") 1)
             (func (export "canister_query q") (result v128)
               (i32x4.relaxed_trunc_f32x4_s (v128.const i32x4 0 0 0 0))))"#,
        r#"(module (memory (export "memory") i64 1))"#,
        r#"(module (memory (export "memory") 1) (memory 1))"#,
    ] {
        let err = compile_err(wat);
        assert!(matches!(err, ExecuteError::Invalid { .. }), "{wat}: {err}");
    }
}

/// `docs/limits.md`: NaNs are canonicalized. sqrt(-1) gives the sign-bit NaN 0xffc00000 on x86;
/// canonicalized, every machine gives 0x7fc00000.
#[test]
fn nans_are_canonical() {
    let guest = compile(
        engine(),
        r#"(module
          (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
          (import "ic0" "msg_reply" (func $reply))
          (memory (export "memory") 1)
          (func (export "canister_query nan")
            (i32.store (i32.const 0) (i32.reinterpret_f32 (f32.sqrt (f32.const -1))))
            (i64.store (i32.const 4) (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0))))
            (call $append (i32.const 0) (i32.const 12))
            (call $reply)))"#,
    );
    let want = [
        &0x7fc0_0000u32.to_le_bytes()[..],
        &0x7ff8_0000_0000_0000u64.to_le_bytes(),
    ]
    .concat();
    assert_eq!(
        run(&guest, Mode::Query, "nan").outcome,
        Outcome::Replied(want)
    );
}

#[test]
fn out_of_bounds_pointers_trap_without_panicking() {
    let guest = compile(engine(), guest!("out_of_bounds"));
    let cases = [
        ("name_wraps", "passed commute.counter_add an out-of-bounds range: 100 bytes at 4294967280, memory is 65536 bytes"),
        ("negative_len", "passed commute.list_push an out-of-bounds range: 4294967295 bytes at 0, memory is 65536 bytes"),
        ("value_past_end", "passed commute.map_put an out-of-bounds range: 7 bytes at 65530, memory is 65536 bytes"),
        ("arg_offset", "asked ic0.msg_arg_data_copy for 10 bytes at offset 1000, but there are 2"),
        ("caller_dst", "passed ic0.msg_caller_copy an out-of-bounds range: 3 bytes at 65535, memory is 65536 bytes"),
        ("trap_text", "passed ic0.trap an out-of-bounds range: 100 bytes at 65530, memory is 65536 bytes"),
        ("print_text", "passed ic0.debug_print an out-of-bounds range: 1 bytes at 70000, memory is 65536 bytes"),
        ("reply_src", "passed ic0.msg_reply_data_append an out-of-bounds range: 1 bytes at 65536, memory is 65536 bytes"),
        ("call_pure_arg", "passed commute.call_pure an out-of-bounds range: 65537 bytes at 0, memory is 65536 bytes"),
        ("counter_dst", "passed commute.counter_get an out-of-bounds range: 16 bytes at 65530, memory is 65536 bytes"),
        ("map_dst", "passed commute.map_get an out-of-bounds range: 5 bytes at 65534, memory is 65536 bytes"),
        ("after_key", "passed commute.map_next_key an out-of-bounds range: 5 bytes at 70000, memory is 65536 bytes"),
        ("load", ": wasm trap: out of bounds memory access"),
    ];
    for (method, want) in cases {
        let run = run_on(
            engine(),
            &guest,
            Mode::Update,
            method,
            b"hi",
            &Model::default(),
        );
        let message = trapped(&run);
        assert!(
            message.starts_with(&format!("update `{method}`")) && message.ends_with(want),
            "{method}: {message}"
        );
    }
}

#[test]
fn child_calls_are_validated_and_capped() {
    let guest = compile(engine(), guest!("children"));
    let two = run(&guest, Mode::PureUpdate, "two");
    assert_eq!(two.outcome, Outcome::Done);
    assert_eq!(
        two.children,
        [Child {
            canister: "logger".into(),
            method: "log".into(),
            arg: b"ok:args".to_vec(),
        }]
    );
    // call_pure returned 0, then NO_SUCH_CANISTER twice (refused; not UTF-8).
    let code = i64::from(NO_SUCH_CANISTER);
    assert_eq!(
        two.log,
        log_of(&[
            counter(b"code", b"", 0),
            counter(b"code", b"", code),
            counter(b"code", b"", code),
        ])
    );
    let fan_out = run(&guest, Mode::PureUpdate, "fan_out");
    assert_eq!(
        trapped(&fan_out),
        "pure update `fan_out` called commute.call_pure more than 256 times, the limit per call"
    );
}

#[test]
fn replies_follow_the_ic() {
    let guest = compile(engine(), guest!("replies"));
    let cases = [
        (
            "twice",
            "update `twice` called ic0.msg_reply after it had replied",
        ),
        (
            "append_after_reply",
            "update `append_after_reply` called ic0.msg_reply_data_append after it had replied",
        ),
        ("silent", "update `silent` did not reply"),
        ("reject", "update `reject` rejected the call: go away now"),
        (
            "multiline_trap",
            "update `multiline_trap` trapped: line one  line two",
        ),
        (
            "reply_then_trap",
            "update `reply_then_trap`: wasm trap: wasm `unreachable` instruction executed",
        ),
    ];
    for (method, want) in cases {
        assert_eq!(trapped(&run(&guest, Mode::Update, method)), want);
    }
    let late = run(&guest, Mode::Update, "reply_then_write");
    assert_eq!(late.outcome, Outcome::Replied(b"01".to_vec()));
    assert_eq!(late.log, log_of(&[push(b"events", b"0")]));
    assert_eq!(
        run(&guest, Mode::Query, "big").outcome,
        Outcome::Replied(b"0123456789abcdef0123456789abcdef".to_vec())
    );
}

#[test]
fn arguments_and_replies_over_the_cap_trap() {
    let guest = compile(tight(), guest!("replies"));
    let big = run_on(tight(), &guest, Mode::Query, "big", b"", &Model::default());
    assert_eq!(
        trapped(&big),
        "query `big` built a reply of 32 bytes, over the limit of 16 bytes"
    );
    let run = run_on(
        tight(),
        &guest,
        Mode::Query,
        "big",
        &[0; 17],
        &Model::default(),
    );
    assert_eq!(
        trapped(&run),
        "query `big` got an argument of 17 bytes, over the limit of 16 bytes"
    );
    assert_eq!(run.fuel_used, 0);
}

/// Traps while instantiating (a data segment out of bounds, a start function that traps)
/// are the guest's: trapped calls, not host errors.
#[test]
fn instantiation_traps_are_the_guests() {
    let guest = compile(
        engine(),
        r#"(module (memory (export "memory") 1) (data (i32.const 65535) "xy")
             (func (export "canister_update f")))"#,
    );
    assert_eq!(
        trapped(&run(&guest, Mode::Update, "f")),
        "update `f`: wasm trap: out of bounds memory access"
    );
    let guest = compile(
        engine(),
        r#"(module (memory (export "memory") 1) (start $s) (func $s unreachable)
             (func (export "canister_update f")))"#,
    );
    assert_eq!(
        trapped(&run(&guest, Mode::Update, "f")),
        "update `f`: wasm trap: wasm `unreachable` instruction executed"
    );
}

#[test]
fn a_failing_state_read_is_a_host_error() {
    let guest = compile(engine(), guest!("well_behaved"));
    let mut broken = Model::default();
    broken.fail = Some("disk on fire".into());
    let export = "canister_update rw";
    let err = guest
        .execute(
            engine(),
            &call(Mode::Update, "rw", export, b""),
            &broken,
            &Children,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading state of canister test failed during `rw`: disk on fire"
    );
    // A pure call reads nothing, so it does not notice.
    let run = run_on(engine(), &guest, Mode::PureUpdate, "log", b"", &broken);
    assert_eq!(run.outcome, Outcome::Done);
}

#[test]
fn engines_and_modules_are_shared_across_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Engine>();
    shareable::<Compiled>();
    let guest = compile(engine(), guest!("well_behaved"));
    let base = Model::default().applied(&rw_base());
    let want = run_on(engine(), &guest, Mode::Update, "rw", b"", &base);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(
                        run_on(engine(), &guest, Mode::Update, "rw", b"", &base),
                        want
                    );
                }
            });
        }
    });
}

#[test]
#[should_panic(expected = "compiled by another Engine")]
fn a_module_runs_only_on_its_engine() {
    let guest = compile(engine(), guest!("well_behaved"));
    run_on(tight(), &guest, Mode::Query, "hits", b"", &Model::default());
}

/// The cost of one call of a trivial guest: a fresh store and instance, the call, and the
/// teardown. `cargo test --release -p commute --lib instantiate_cost -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn instantiate_cost() {
    const CALLS: u32 = 20_000;
    // A Rust canister's memory: its wasm stack, then data; a call touches a page at the
    // top of the stack. Rust's default stack is 1 MiB (17 pages in all); the examples
    // were built with 128 KiB (3 pages; 64 KiB and 2 pages now).
    for pages in [17u32, 3] {
        let top = pages.min(16) * 65536 - 1000;
        let wat = format!(
            r#"(module
          (import "commute" "counter_add" (func $add (param i32 i32 i32 i32 i64)))
          (memory (export "memory") {pages})
          (data (i32.const 0) "n")
          (func (export "canister_update bump")
            (i64.store (i32.const {top}) (i64.const 1))
            (call $add (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i64.const 1))))"#
        );
        for (name, allocation) in [
            ("pooling, reset in user space", Allocation::Pooling),
            ("pooling, dirty pages scanned", Allocation::PoolingScanned),
            ("on-demand", Allocation::OnDemand),
        ] {
            let engine = Engine::with_allocation(Limits::default(), allocation).unwrap();
            let guest = compile(&engine, &wat);
            let state = Model::default();
            for threads in [1, 2, 8] {
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        scope.spawn(|| {
                            for _ in 0..CALLS {
                                let run =
                                    run_on(&engine, &guest, Mode::PureUpdate, "bump", b"", &state);
                                assert_eq!(run.outcome, Outcome::Done);
                            }
                        });
                    }
                });
                let per_call = start.elapsed() / (CALLS * threads);
                println!("{pages} pages, {name}, {threads} thread(s): {per_call:?} per call");
            }
        }
    }
}

/// How long the default fuel budget lasts against a guest that only loops, and one that
/// loops calling an import.
/// `cargo test --release -p commute --lib default_fuel_duration -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn default_fuel_duration() {
    let guest = compile(engine(), guest!("infinite_loop"));
    for method in ["busy", "spin"] {
        let start = std::time::Instant::now();
        let run = run(&guest, Mode::PureUpdate, method);
        assert!(run.outcome.is_trapped());
        println!("{method}: {} fuel in {:?}", run.fuel_used, start.elapsed());
    }
}
