//! The example canisters, installed and called through the library (`commute::Host`).

use commute::submit::Args;
use commute::{Host, HostError, Principal, Status};
use commute_examples::{Canister, ALL, ANALYTICS, AUDIT, LOGGER};

fn install(host: &mut Host, c: &Canister) {
    host.install(c.name, c.wasm, c.did_file(), None)
        .unwrap_or_else(|e| panic!("install {}: {e}", c.name));
}

fn host_with_examples() -> Host {
    let mut host = Host::temporary().unwrap();
    for c in &ALL {
        install(&mut host, c);
    }
    host
}

fn user(i: u8) -> Principal {
    Principal::from_slice(&[i, 0xfe, 1])
}

fn query(host: &Host, canister: &str, method: &str, args: &str) -> String {
    host.query(canister, method, Args::Text(args), Principal::anonymous())
        .unwrap_or_else(|e| panic!("{canister}.{method}{args}: {e}"))
        .text
}

fn p(u: Principal) -> String {
    format!("principal \"{u}\"")
}

#[test]
fn logger_counts_remembers_and_appends_in_seq_order() {
    let mut host = host_with_examples();
    let plan: Vec<(u8, String)> = (0..12).map(|i| (i % 3, format!("event {i}"))).collect();
    let texts: Vec<String> = plan
        .iter()
        .map(|(u, e)| format!("({}, \"{e}\")", p(user(*u))))
        .collect();
    let calls: Vec<_> = texts
        .iter()
        .map(|t| ("logger", "log", Args::Text(t), Principal::anonymous()))
        .collect();
    let seqs = host.submit_batch(&calls).unwrap();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seqs are consecutive"
    );
    assert_eq!(host.status(seqs[0]).unwrap(), Status::Pending);
    let mut rounds = Vec::new();
    host.tick(|r| rounds.push(r.clone())).unwrap();
    assert_eq!(rounds.iter().map(|r| r.calls).sum::<usize>(), 12);
    assert!(rounds.iter().all(|r| r.trapped == 0));
    for seq in seqs {
        assert_eq!(host.status(seq).unwrap().to_string(), "done");
    }
    for u in 0..3 {
        assert_eq!(
            query(&host, "logger", "count", &format!("({})", p(user(u)))),
            "(4 : nat64)"
        );
    }
    let last = query(&host, "logger", "last_event", &format!("({})", p(user(2))));
    assert_eq!(last, "(opt \"event 11\")");
    assert_eq!(query(&host, "logger", "events_len", "()"), "(12 : nat64)");
    let events = query(&host, "logger", "events", "(0, 100)");
    let expected: Vec<String> = plan.iter().map(|(_, e)| format!("\"{e}\"")).collect();
    let flat = events.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(flat, format!("( vec {{ {};}}, )", expected.join("; ")));
}

/// The guests allocate through the SDK's allocator: the rest of the page that holds the end
/// of their data first, then dlmalloc on pages it grows. Events of sizes on both sides of
/// that room, and far past it, go through a pure update (decoded, written) and a query
/// (read back, a `String` grown while it decodes, the reply encoded) and come back byte for
/// byte.
#[test]
fn events_of_every_size_come_back_whole() {
    let mut host = host_with_examples();
    let sizes = [
        1usize, 2_000, 4_000, 6_000, 7_000, 30_000, 65_536, 70_000, 300_000,
    ];
    let events: Vec<String> = (sizes.iter().enumerate())
        .map(|(i, &size)| {
            let mut rng = blake3::Hasher::new()
                .update(&i.to_le_bytes())
                .finalize_xof();
            let mut bytes = vec![0u8; size];
            rng.fill(&mut bytes);
            bytes.iter().map(|b| char::from(b'a' + b % 26)).collect()
        })
        .collect();
    let args: Vec<Vec<u8>> = (events.iter().enumerate())
        .map(|(i, event)| candid::encode_args((user(i as u8), event)).unwrap())
        .collect();
    let calls: Vec<_> = args
        .iter()
        .map(|a| ("logger", "log", Args::Binary(a), Principal::anonymous()))
        .collect();
    host.submit_batch(&calls).unwrap();
    let mut trapped = 0;
    host.tick(|r| trapped += r.trapped).unwrap();
    assert_eq!(trapped, 0);
    for (i, event) in events.iter().enumerate() {
        let arg = candid::encode_args((user(i as u8),)).unwrap();
        let reply = host
            .query(
                "logger",
                "last_event",
                Args::Binary(&arg),
                Principal::anonymous(),
            )
            .unwrap();
        let (last,): (Option<String>,) = candid::decode_args(&reply.bytes).unwrap();
        assert!(
            last.as_ref() == Some(event),
            "event {i} ({} bytes) came back as {:?} bytes",
            event.len(),
            last.map(|l| l.len())
        );
    }
}

#[test]
fn analytics_counts_views_without_keys() {
    let mut host = host_with_examples();
    for page in ["home", "docs", "home", "home"] {
        let arg = format!("(\"{page}\")");
        host.submit("analytics", "view", Args::Text(&arg), user(1))
            .unwrap();
    }
    host.tick(|_| {}).unwrap();
    assert_eq!(
        query(&host, "analytics", "views", "(\"home\")"),
        "(3 : nat64)"
    );
    assert_eq!(
        query(&host, "analytics", "views", "(\"docs\")"),
        "(1 : nat64)"
    );
    assert_eq!(
        query(&host, "analytics", "views", "(\"none\")"),
        "(0 : nat64)"
    );
    assert_eq!(
        query(&host, "analytics", "total_views", "()"),
        "(4 : nat64)"
    );
}

#[test]
fn audit_records_transfers_and_its_child_calls_reach_the_logger() {
    let mut host = host_with_examples();
    let transfers = [(1u8, 2u8, 10u64), (2, 3, 5), (1, 3, 7)];
    for (from, to, amount) in transfers {
        let arg = format!("({}, {}, {amount})", p(user(from)), p(user(to)));
        host.submit("audit", "record", Args::Text(&arg), user(9))
            .unwrap();
    }
    let mut rounds = Vec::new();
    host.tick(|r| rounds.push(r.clone())).unwrap();
    assert_eq!(
        rounds.len(),
        2,
        "the children run in a later round: {rounds:?}"
    );
    assert_eq!((rounds[0].calls, rounds[1].calls), (3, 3));
    assert_eq!(
        query(&host, "audit", "sent", &format!("({})", p(user(1)))),
        "(17 : nat)"
    );
    assert_eq!(
        query(&host, "audit", "received", &format!("({})", p(user(3)))),
        "(12 : nat)"
    );
    assert_eq!(query(&host, "audit", "transfers_len", "()"), "(3 : nat64)");
    // One logger entry per transfer, under the sender.
    assert_eq!(
        query(&host, "logger", "count", &format!("({})", p(user(1)))),
        "(2 : nat64)"
    );
    assert_eq!(query(&host, "logger", "events_len", "()"), "(3 : nat64)");
}

#[test]
fn updates_see_their_own_writes_and_reply() {
    let mut host = host_with_examples();
    let set = |host: &mut Host, note: &str| {
        host.call(
            "audit",
            "set_note",
            Args::Text(&format!("(\"{note}\")")),
            user(1),
        )
        .unwrap()
        .text
    };
    assert_eq!(set(&mut host, "first"), "(null)");
    assert_eq!(set(&mut host, "second"), "(opt \"first\")");
    assert_eq!(query(&host, "audit", "note", "()"), "(opt \"second\")");
}

#[test]
fn state_and_root_survive_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let root = {
        let mut host = Host::open(dir.path()).unwrap();
        install(&mut host, &LOGGER);
        let arg = format!("({}, \"kept\")", p(user(5)));
        host.submit("logger", "log", Args::Text(&arg), user(5))
            .unwrap();
        host.tick(|_| {}).unwrap();
        host.root()
    };
    let host = Host::open(dir.path()).unwrap();
    assert_eq!(host.root(), root);
    assert_ne!(root, commute::root::Root::empty());
    assert_eq!(
        query(&host, "logger", "count", &format!("({})", p(user(5)))),
        "(1 : nat64)"
    );
}

#[test]
fn controllers_survive_the_process_and_a_reinstall_without_them_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (user(1), user(2));
    {
        let mut host = Host::open(dir.path()).unwrap();
        host.install_controlled(
            "logger",
            LOGGER.wasm,
            LOGGER.did_file(),
            None,
            Some(&[a, b]),
        )
        .unwrap();
        install(&mut host, &AUDIT);
    }
    let controllers =
        |host: &Host, name: &str| host.registry().get(name).unwrap().controllers.clone();
    let mut host = Host::open(dir.path()).unwrap();
    assert_eq!(controllers(&host, "logger"), vec![a, b]);
    assert_eq!(controllers(&host, "audit"), Vec::<Principal>::new());
    // A re-install that names none keeps them; one that names some replaces them.
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    assert_eq!(controllers(&host, "logger"), vec![a, b]);
    host.install_controlled("logger", LOGGER.wasm, LOGGER.did_file(), None, Some(&[b]))
        .unwrap();
    drop(host);
    let host = Host::open(dir.path()).unwrap();
    assert_eq!(controllers(&host, "logger"), vec![b]);
}

#[test]
fn a_canister_record_written_before_controllers_existed_has_none() {
    #[derive(candid::CandidType)]
    struct Before {
        wasm: serde_bytes::ByteBuf,
        did: String,
    }
    let old = Before {
        wasm: serde_bytes::ByteBuf::from(vec![0, 97, 115, 109]),
        did: "service : {}".into(),
    };
    let bytes = candid::encode_one(&old).unwrap();
    let record: commute::registry::Record = candid::decode_one(&bytes).unwrap();
    assert_eq!(
        (record.wasm.as_ref(), record.controllers),
        (&[0, 97, 115, 109][..], None)
    );
}

#[test]
fn a_second_host_on_the_same_dir_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Host::open(dir.path()).unwrap();
    let err = Host::open(dir.path()).unwrap_err();
    assert!(matches!(err, HostError::InUse(_)), "{err}");
}

#[test]
fn tick_with_nothing_pending_leaves_the_root() {
    let mut host = host_with_examples();
    let before = host.root();
    assert_eq!(host.tick(|_| {}).unwrap(), 0);
    assert_eq!(host.root(), before);
}

#[test]
fn refused_calls_queue_nothing() {
    let mut host = host_with_examples();
    let good = format!("({}, \"x\")", p(user(1)));
    let seq = host
        .submit("logger", "log", Args::Text(&good), user(1))
        .unwrap();
    let huge = format!("({}, \"{}\")", p(user(1)), "x".repeat(3 << 20));
    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "nobody",
            "log",
            good.as_str(),
            "no canister `nobody` is installed",
        ),
        (
            "logger",
            "nope",
            good.as_str(),
            "canister `logger` has no method `nope` (its methods: count, events, events_len, last_event, log)",
        ),
        (
            "logger",
            "log",
            "(1, 2)",
            "argument `user` of `log` does not fit `principal`",
        ),
        (
            "logger",
            "log",
            "(principal",
            "arguments to `log` are not Candid text",
        ),
        ("logger", "count", good.as_str(), "is a query method"),
        ("logger", "log", huge.as_str(), "over the cap"),
    ];
    for (canister, method, args, needle) in cases {
        let err = host
            .submit(canister, method, Args::Text(args), user(1))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(needle), "{canister}.{method}: {msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
    // Nothing was queued: the next accepted call gets the very next seq.
    assert_eq!(
        host.submit("logger", "log", Args::Text(&good), user(1))
            .unwrap(),
        seq + 1
    );
    assert_eq!(host.status(seq + 2).unwrap(), Status::Unknown);
    let mut calls = 0;
    host.tick(|r| calls += r.calls).unwrap();
    assert_eq!(calls, 2);
    let _ = (ANALYTICS, AUDIT);
}

#[test]
fn a_query_never_waits_for_the_round_in_flight() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;

    // The round's one call holds the round open (in the test hook) until a query from
    // another thread has been answered. If queries waited for rounds, neither would finish;
    // the hook's wait is bounded, and the test checks the answer came.
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (answered_tx, answered_rx) = mpsc::channel::<()>();
    let (started_tx, answered_rx) = (Mutex::new(started_tx), Mutex::new(answered_rx));
    let answered_in_round = Arc::new(AtomicBool::new(false));
    let flag = answered_in_round.clone();
    let hook: commute::host::Perturb = Arc::new(move |_seq| {
        let _ = started_tx.lock().unwrap().send(());
        let got = answered_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(60));
        flag.store(got.is_ok(), Ordering::SeqCst);
    });
    let config = commute::Config {
        perturb: Some(hook),
        ..commute::Config::default()
    };
    let mut host = Host::temporary_with(config).unwrap();
    install(&mut host, &LOGGER);
    let arg = format!("({}, \"in flight\")", p(user(1)));
    host.submit("logger", "log", Args::Text(&arg), user(1))
        .unwrap();

    let queries = host.queries();
    let asker = std::thread::spawn(move || {
        started_rx.recv().unwrap();
        let reply = queries.query(
            "logger",
            "events_len",
            Args::Text("()"),
            Principal::anonymous(),
        );
        answered_tx.send(()).unwrap();
        reply.unwrap().text
    });
    host.tick(|_| {}).unwrap();
    assert_eq!(
        asker.join().unwrap(),
        "(0 : nat64)",
        "the last committed state"
    );
    assert!(
        answered_in_round.load(Ordering::SeqCst),
        "answered while the round ran"
    );
    assert_eq!(query(&host, "logger", "events_len", "()"), "(1 : nat64)");
}

#[test]
fn an_install_whose_did_disagrees_with_the_compiled_modes_is_refused_by_name() {
    // `log` is a #[pure_update]; a .did calling it an update would have run it as one,
    // and every call would have trapped ("did not reply").
    let did = LOGGER.did.replace("pure_update key(user)", "");
    assert_ne!(did, LOGGER.did, "the example's .did tags `log`");
    let mut host = Host::temporary().unwrap();
    let err = host
        .install("logger", LOGGER.wasm, Some(("logger.did", &did)), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`log` is `update` in the .did")
            && err.contains("#[pure_update]")
            && !err.contains('\n'),
        "{err}"
    );
    assert!(host.registry().get("logger").is_none(), "nothing installed");
    // A query declared an update has another export too; the modes say why.
    let did = LOGGER.did.replace("-> (nat64) query;", "-> (nat64);");
    let err = host
        .install("logger", LOGGER.wasm, Some(("logger.did", &did)), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`count` is `update` in the .did") && err.contains("#[query]"),
        "{err}"
    );
    // The .did the wasm was built with installs.
    install(&mut host, &LOGGER);
}

#[test]
fn an_install_finds_its_module_compiled_by_precompile() {
    // A server compiles an install's module off the round thread first (`Queries::precompile`),
    // so the install on the round thread must not compile it again. Limits of its own give
    // it an engine of its own (a process has one per limits), uncounted by other tests.
    let limits = commute::execute::Limits {
        fuel: commute::execute::Limits::default().fuel - 1,
        ..commute::execute::Limits::default()
    };
    let mut host = Host::temporary_with(commute::Config {
        limits,
        ..commute::Config::default()
    })
    .unwrap();
    host.queries().precompile(LOGGER.wasm).unwrap();
    let compiled = host.engine().cache_stats().compiled;
    assert_eq!(compiled, 1);
    install(&mut host, &LOGGER);
    assert_eq!(
        host.engine().cache_stats().compiled,
        compiled,
        "compiled once"
    );
    // A module that does not compile is refused with the install's own error.
    let bad = b"\0asm\x01\0\0\0\x01";
    let early = host.queries().precompile(bad).unwrap_err().to_string();
    let late = host.install("bad", bad, Some(("a.did", "service : {}")), None);
    assert_eq!(early, late.unwrap_err().to_string());
}

/// The audit derives its `.did` (`export_candid!()`): installed with no `.did`, it gets
/// the modes and keys its attributes declare, and its calls run as those say.
#[test]
fn a_derived_did_installs_with_its_modes_and_keys() {
    let mut host = Host::temporary().unwrap();
    install(&mut host, &LOGGER);
    host.install("audit", AUDIT.wasm, None, None)
        .unwrap_or_else(|e| panic!("install audit with no .did: {e}"));
    let audit = host.registry().get("audit").unwrap();
    let modes: Vec<(String, commute::Mode, Vec<usize>)> = audit.interface.with(|i| {
        let mut all: Vec<_> = i
            .methods()
            .map(|m| (m.name.clone(), m.mode, m.keys.clone()))
            .collect();
        all.sort();
        all
    });
    use commute::Mode::{PureUpdate, Query, Update};
    let m = |name: &str, mode, keys: &[usize]| (name.to_string(), mode, keys.to_vec());
    assert_eq!(
        modes,
        [
            m("note", Query, &[]),
            m("received", Query, &[]),
            m("record", PureUpdate, &[0, 1]),
            m("sent", Query, &[]),
            m("set_note", Update, &[]),
            m("transfers", Query, &[]),
            m("transfers_len", Query, &[]),
        ]
    );

    // 1 -> 2, 3 -> 4, 2 -> 5: only the third shares an account (2) with an earlier call.
    for (from, to) in [(1u8, 2u8), (3, 4), (2, 5)] {
        let arg = format!("({}, {}, 1)", p(user(from)), p(user(to)));
        host.submit("audit", "record", Args::Text(&arg), user(9))
            .unwrap();
    }
    let mut rounds = Vec::new();
    host.tick(|r| rounds.push(r.clone())).unwrap();
    assert_eq!(rounds[0].calls, 3, "{rounds:?}");
    assert_eq!(rounds[0].trapped, 0, "{rounds:?}");
    assert_eq!(
        query(&host, "audit", "sent", &format!("({})", p(user(2)))),
        "(1 : nat)"
    );
    let err = host
        .submit("audit", "set_note", Args::Text("(\"x\")"), user(9))
        .unwrap_err()
        .to_string();
    assert!(err.contains("it replies"), "set_note is an update: {err}");
}

/// The DAG of a round of audit calls alone: the keys the derived `.did` declares order
/// the third call after the first, and nothing else.
#[test]
fn a_derived_key_orders_the_calls_that_share_it() {
    let mut host = Host::temporary_with(commute::Config {
        trace: true,
        ..commute::Config::default()
    })
    .unwrap();
    host.install("audit", AUDIT.wasm, None, None).unwrap();
    for (from, to) in [(1u8, 2u8), (3, 4), (5, 2)] {
        let arg = format!("({}, {}, 1)", p(user(from)), p(user(to)));
        host.submit("audit", "record", Args::Text(&arg), user(9))
            .unwrap();
    }
    let before = host.pool_time();
    host.tick(|_| {}).unwrap();
    // The round's merge, preparation and apply ran on the pool, and were timed.
    assert!(host.pool_time() > before);
    let (schedule, _) = host.last_trace().expect("traces are on");
    assert_eq!(schedule.len(), 3);
    assert_eq!(
        (schedule.preds(0), schedule.preds(1), schedule.preds(2)),
        (&[][..], &[][..], &[0][..])
    );
}

/// Isolation between canisters: 1,200 calls on one key of one canister, each burning its
/// whole fuel limit, do not hold a call to another canister queued after them. The round
/// budget (four calls' worth of fuel on the critical path) takes a few of them a round and
/// the logger's call beside them; every call still commits, each canister's in seq order.
#[test]
fn a_heavy_backlog_on_one_canister_does_not_hold_another_canister_s_call() {
    let config = commute::Config {
        limits: commute::execute::Limits {
            fuel: 20_000_000,
            ..commute::execute::Limits::default()
        },
        ..commute::Config::default()
    };
    let mut host = Host::temporary_with(config).unwrap();
    install(&mut host, &ANALYTICS);
    install(&mut host, &LOGGER);
    let heavy: Vec<_> = (0..1_200)
        .map(|_| {
            (
                "analytics",
                "work",
                Args::Text("(778, 4000000000)"),
                user(1),
            )
        })
        .collect();
    let heavy = host.submit_batch(&heavy).unwrap();
    let arg = format!("({}, \"behind the backlog\")", p(user(2)));
    let log = host
        .submit("logger", "log", Args::Text(&arg), user(2))
        .unwrap();
    let mut rounds = 0;
    host.tick_until(|_| {
        rounds += 1;
        std::ops::ControlFlow::Break(())
    })
    .unwrap();
    assert!(rounds <= 2, "{rounds}");
    assert_eq!(
        host.status(log).unwrap(),
        Status::Finished(commute::outcome::Outcome::Done)
    );
    let waiting = heavy
        .iter()
        .filter(|seq| host.status(**seq).unwrap() == Status::Pending)
        .count();
    assert!(waiting >= 1_150, "{waiting} of the heavy calls still wait");
    // The heavy calls still commit, each once, in order behind the logger's.
    assert_eq!(host.pending().unwrap().len(), waiting);
    host.tick(|_| {}).unwrap();
    assert!(host.pending().unwrap().is_empty());
    for seq in [heavy[0], heavy[1_199]] {
        let status = host.status(seq).unwrap().to_string();
        assert!(status.contains("out of fuel"), "{status}");
    }
    assert_eq!(
        query(&host, "logger", "count", &format!("({})", p(user(2)))),
        "(1 : nat64)"
    );
}
