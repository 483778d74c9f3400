//! Hostile guests (hand-written WAT in tests/guests/) installed and called through the
//! host, with well-behaved calls queued around them in the same tick (`docs/limits.md`).

use commute::submit::Args;
use commute::{Host, HostError, Principal, Status};
use commute_examples::LOGGER;

fn wasm(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../tests/guests/{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn install(host: &mut Host, name: &str, file: &str, did: &str) {
    host.install(name, &wasm(file), Some((&format!("{name}.did"), did)), None)
        .unwrap_or_else(|e| panic!("install {name}: {e}"));
}

fn hosts_with_guests() -> Host {
    let mut host = Host::temporary().unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    install(
        &mut host,
        "spin",
        "infinite_loop",
        "service : { spin : () -> () pure_update }",
    );
    install(
        &mut host,
        "bomb",
        "memory_bomb_pure",
        "service : { bomb : () -> () pure_update }",
    );
    install(
        &mut host,
        "flood",
        "write_flood",
        "service : { flood : () -> () pure_update }",
    );
    install(
        &mut host,
        "probe",
        "mode_probe",
        "service : {
           map_get : () -> () pure_update;
           list_len : () -> () pure_update;
           msg_reply : () -> () pure_update;
         }",
    );
    install(
        &mut host,
        "probeq",
        "mode_probe",
        "service : { counter_add : () -> (nat) query; call_pure : () -> (nat) query }",
    );
    host
}

fn log_text(i: usize) -> String {
    format!("(principal \"2vxsx-fae\", \"event {i}\")")
}

#[test]
fn hostile_calls_trap_alone_and_calls_around_them_complete() {
    let mut host = hosts_with_guests();
    let hostile = [
        ("spin", "spin", "ran out of fuel"),
        ("bomb", "bomb", ""),
        ("flood", "flood", "write log cap exceeded: op 16385"),
        (
            "probe",
            "map_get",
            "called commute.map_get: pure updates cannot read state",
        ),
        (
            "probe",
            "list_len",
            "called commute.list_len: pure updates cannot read state",
        ),
        (
            "probe",
            "msg_reply",
            "called ic0.msg_reply: pure updates cannot reply",
        ),
    ];
    // Logger calls before, between and after the hostile ones: one tick runs them all.
    let logs: Vec<String> = (0..hostile.len() + 1).map(log_text).collect();
    let mut calls = vec![(
        "logger",
        "log",
        Args::Text(&logs[0]),
        Principal::anonymous(),
    )];
    for (i, (canister, method, _)) in hostile.iter().enumerate() {
        calls.push((canister, method, Args::Text("()"), Principal::anonymous()));
        calls.push((
            "logger",
            "log",
            Args::Text(&logs[i + 1]),
            Principal::anonymous(),
        ));
    }
    let seqs = host.submit_batch(&calls).unwrap();
    let mut rounds = Vec::new();
    host.tick(|r| rounds.push(r.clone())).unwrap();
    // One tick; the round budget may split it, since methods that never ran are taken to
    // use the whole fuel limit.
    let total = |f: fn(&commute::round::RoundReport) -> usize| rounds.iter().map(f).sum::<usize>();
    assert_eq!(total(|r| r.calls), calls.len(), "{rounds:?}");
    assert_eq!(
        total(|r| r.trapped),
        hostile.len() - 1,
        "all but the memory bomb trap"
    );

    for (i, (canister, method, needle)) in hostile.iter().enumerate() {
        let status = host.status(seqs[2 * i + 1]).unwrap().to_string();
        if needle.is_empty() {
            assert_eq!(status, "done", "{canister}.{method}");
        } else {
            assert!(
                status.starts_with("trapped: ") && status.contains(needle),
                "{canister}.{method}: {status}"
            );
            assert!(!status.contains('\n'));
        }
    }
    for i in 0..=hostile.len() {
        assert_eq!(
            host.status(seqs[2 * i]).unwrap(),
            Status::Finished(commute::outcome::Outcome::Done)
        );
    }
    let count = host
        .query(
            "logger",
            "count",
            Args::Text("(principal \"2vxsx-fae\")"),
            Principal::anonymous(),
        )
        .unwrap();
    assert_eq!(count.text, format!("({} : nat64)", hostile.len() + 1));

    // The memory bomb got exactly the 64 MiB cap: 1024 pages of 64 KiB.
    let bomb = host.dump("bomb").unwrap();
    assert_eq!(bomb["counters"][hex(b"pages")][""], "1024");
    // Trapped calls' writes are dropped whole, including those before the trap.
    for canister in ["flood", "probe", "spin"] {
        let dump = host.dump(canister).unwrap();
        assert_eq!(
            dump,
            serde_json::json!({"counters": {}, "maps": {}, "lists": {}}),
            "{canister}"
        );
    }
}

#[test]
fn writes_and_calls_in_a_query_trap_naming_the_import() {
    let host = hosts_with_guests();
    let root = host.root();
    for (method, needle) in [
        (
            "counter_add",
            "called commute.counter_add: queries cannot write state",
        ),
        (
            "call_pure",
            "called commute.call_pure: queries cannot fire calls",
        ),
    ] {
        let err = host
            .query("probeq", method, Args::Text("()"), Principal::anonymous())
            .unwrap_err();
        assert!(matches!(err, HostError::Trapped { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    assert_eq!(host.root(), root);
}

#[test]
fn forbidden_imports_are_refused_at_install_by_name_and_nothing_is_installed() {
    let mut host = Host::temporary().unwrap();
    let did = "service : { f : () -> () pure_update }";
    let err = host
        .install(
            "bad",
            &wasm("forbidden_import"),
            Some(("bad.did", did)),
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("ic0.stable64_write"), "{err}");
    assert!(host.registry().get("bad").is_none());
    let err = host
        .submit("bad", "f", Args::Text("()"), Principal::anonymous())
        .unwrap_err();
    assert_eq!(err.to_string(), "no canister `bad` is installed");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A module whose compile would take an install's time and memory (the 200,000-function
/// module took 24 s and 1.3 GB of cranelift) is refused before compiling, naming the limit,
/// and nothing is installed; one at the limit installs.
#[test]
fn a_module_over_the_compile_limits_is_refused_before_it_is_compiled() {
    let mut host = Host::temporary().unwrap();
    let module = |functions: u32| {
        let funcs: String = (0..functions).map(|_| "(func)").collect();
        wat::parse_str(format!("(module (memory (export \"memory\") 1) {funcs})")).unwrap()
    };
    let did = Some(("big.did", "service : {}"));
    let limit = commute::execute::MAX_FUNCTIONS;
    let err = host
        .install("big", &module(limit + 1), did, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "module too large to compile: {} functions, over the limit of {limit}",
            limit + 1
        )
    );
    assert!(host.registry().get("big").is_none());
    host.install("big", &module(limit), did, None).unwrap();
}
