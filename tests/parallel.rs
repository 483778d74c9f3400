//! Parallel rounds equal sequential execution (`docs/modes.md`: serial equivalence, keys).
//!
//! The `chaos` guest (tests/guests/chaos.wat) writes a counter, a map entry and a list
//! element per call, fires a child call when `b % 3 == 0`, and traps after its writes when
//! `b % 5 == 0`. Generated batches of its calls, with keys drawn from a tiny alphabet (heavy
//! collisions) and two-key calls, are run on a parallel host and on a strictly sequential
//! one (one call per round, one thread, each round committed before the next is taken);
//! both must reach the same state and root. The parallel hosts run the batch as one round
//! and as rounds of 3 calls, which `Host::tick` pipelines: a round's pure calls run while
//! the round before them commits.

use commute::execute::Limits;
use commute::submit::Args;
use commute::{Config, Host, Principal};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use std::sync::Arc;
use std::time::Duration;

const CHAOS_WAT: &str = include_str!("guests/chaos.wat");
const CHAOS_DID: &str = include_str!("guests/chaos.did");

/// One generated call: `pair` (two keys) or `hit` (one), with small `a` and `b`.
#[derive(Debug, Clone)]
struct GenCall {
    pair: bool,
    a: u64,
    b: u64,
}

impl Arbitrary for GenCall {
    fn arbitrary(g: &mut Gen) -> Self {
        GenCall {
            pair: bool::arbitrary(g),
            a: u64::arbitrary(g) % 4,
            b: u64::arbitrary(g) % 31,
        }
    }
}

fn host(threads: usize, max_round_calls: usize, perturb: Option<commute::host::Perturb>) -> Host {
    let config = Config {
        limits: Limits::default(),
        max_round_calls,
        threads,
        perturb,
        ..Config::default()
    };
    let mut host = Host::temporary_with(config).unwrap();
    let wasm = wat::parse_str(CHAOS_WAT).unwrap();
    host.install("chaos", &wasm, Some(("chaos.did", CHAOS_DID)), None)
        .unwrap();
    host
}

/// Submits `calls` and ticks until nothing is pending (pipelined, or with `serial` one
/// round at a time); the root, the state, the outcomes.
fn run(
    mut host: Host,
    calls: &[GenCall],
    serial: bool,
) -> (String, serde_json::Value, Vec<String>) {
    let texts: Vec<String> = calls
        .iter()
        .map(|c| format!("({}, {})", c.a, c.b))
        .collect();
    let batch: Vec<_> = calls
        .iter()
        .zip(&texts)
        .map(|(c, t)| {
            let method = if c.pair { "pair" } else { "hit" };
            ("chaos", method, Args::Text(t), Principal::anonymous())
        })
        .collect();
    host.submit_batch(&batch).unwrap();
    if serial {
        while host.tick_round().unwrap().is_some() {}
    } else {
        host.tick(|_| {}).unwrap();
    }
    // Children get seqs after the submitted calls; read every outcome up to the last one.
    let outcomes = (1..)
        .map(|seq| host.status(seq).unwrap())
        .take_while(|s| *s != commute::Status::Unknown)
        .map(|s| s.to_string())
        .collect();
    (host.root().to_hex(), host.dump("chaos").unwrap(), outcomes)
}

fn parallel_equals_sequential(calls: Vec<GenCall>, perturb: bool) -> TestResult {
    if calls.is_empty() {
        return TestResult::discard();
    }
    let sequential = run(host(1, 1, None), &calls, true);
    assert!(sequential.2.len() >= calls.len());
    for (threads, round_calls) in [
        (1, 10_000),
        (2, 10_000),
        (8, 10_000),
        (1, 3),
        (2, 3),
        (8, 3),
    ] {
        let hook: Option<commute::host::Perturb> = perturb.then(|| {
            // Delay each call by an amount derived from its seq: completion order then
            // differs from seq order, and from one thread count to the next.
            let salt = threads as u64;
            Arc::new(move |seq: u64| {
                let micros = (seq.wrapping_mul(2_654_435_761) ^ salt) % 300;
                std::thread::sleep(Duration::from_micros(micros));
            }) as commute::host::Perturb
        });
        let parallel = run(host(threads, round_calls, hook), &calls, false);
        if parallel != sequential {
            return TestResult::error(format!(
                "{threads} threads, rounds of {round_calls} (perturbed: {perturb}) differ \
                 from sequential\n\
                 parallel:   {parallel:?}\nsequential: {sequential:?}"
            ));
        }
    }
    TestResult::passed()
}

#[test]
fn prop_parallel_equals_sequential() {
    QuickCheck::new()
        .tests(25)
        .quickcheck(parallel_equals_sequential as fn(Vec<GenCall>, bool) -> TestResult);
}

#[test]
fn prop_parallel_equals_sequential_with_completion_order_perturbed() {
    let perturbed = |calls: Vec<GenCall>| parallel_equals_sequential(calls, true);
    QuickCheck::new()
        .tests(15)
        .quickcheck(perturbed as fn(Vec<GenCall>) -> TestResult);
}

#[test]
fn a_batch_with_every_path_commits_what_sequential_execution_does() {
    // Fixed, so every path is certainly taken: collisions, two keys, traps (b = 5, 15),
    // children (b = 3, 6, 15, whose child is dropped with its trapped parent).
    let calls: Vec<GenCall> = [
        (false, 0, 3),
        (true, 0, 5),
        (false, 1, 6),
        (true, 1, 15),
        (false, 0, 7),
    ]
    .into_iter()
    .map(|(pair, a, b)| GenCall { pair, a, b })
    .collect();
    let (root, state, outcomes) = run(host(2, 10_000, None), &calls, false);
    assert_eq!(
        outcomes,
        [
            "done",
            "trapped: pure update `pair` trapped: b % 5 == 0",
            "done",
            "trapped: pure update `pair` trapped: b % 5 == 0",
            "done",
            "done",
            "done"
        ]
        .map(|s| s.to_string()),
        "5 calls, then the children of seq 1 (b = 3) and seq 3 (b = 6)"
    );
    // Counters: c[0] = 3 + 7 + 4 (child of seq 1), c[1] = 6 + 7 (child of seq 3).
    let key = |a: u64| hex(&a.to_le_bytes());
    let c = &state["counters"][hex(b"c")];
    assert_eq!(c[key(0)], "14");
    assert_eq!(c[key(1)], "13");
    // Map: the highest seq wins: m[0] = 4 (child, seq 6) , m[1] = 7 (child, seq 7).
    let m = &state["maps"][hex(b"m")];
    assert_eq!(m[key(0)], hex(&4u64.to_le_bytes()));
    assert_eq!(m[key(1)], hex(&7u64.to_le_bytes()));
    assert_eq!(state["lists"][hex(b"l")].as_array().unwrap().len(), 5);
    assert_eq!(run(host(1, 1, None), &calls, true).0, root);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn children_are_queued_after_their_round_with_the_parent_as_caller() {
    let mut host = host(2, 10_000, None);
    // b = 3 and b = 6 fire a child each; b = 15 fires one and then traps.
    let texts = ["(0, 3)", "(1, 15)", "(2, 6)"];
    let calls: Vec<_> = texts
        .iter()
        .map(|t| ("chaos", "hit", Args::Text(t), Principal::anonymous()))
        .collect();
    let seqs = host.submit_batch(&calls).unwrap();
    host.tick_round().unwrap().unwrap();
    let pending = host.pending().unwrap();
    // Two children, under the next seqs, in parent seq order; none for the trapped parent.
    let chaos = commute::registry::principal_of("chaos");
    assert_eq!(
        pending.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![seqs[2] + 1, seqs[2] + 2]
    );
    let encoded = |a: u64, b: u64| candid::encode_args((a, b)).unwrap();
    for ((_, child), (a, b)) in pending.iter().zip([(0u64, 4u64), (2, 7)]) {
        assert_eq!(child.method, "hit");
        assert_eq!(
            child.caller.as_slice(),
            chaos.as_slice(),
            "the parent canister calls"
        );
        assert_eq!(child.arg.as_slice(), encoded(a, b).as_slice());
    }
    assert_eq!(
        pending[0].1.time, pending[1].1.time,
        "children carry their parent's time"
    );
}

/// A host with the `barrier` guest (tests/guests/barrier.wat) installed.
fn barrier_host(max_round_calls: usize, threads: usize) -> Host {
    let config = Config {
        max_round_calls,
        threads,
        ..Config::default()
    };
    let mut host = Host::temporary_with(config).unwrap();
    let wasm = wat::parse_str(include_str!("guests/barrier.wat")).unwrap();
    let did = include_str!("guests/barrier.did");
    host.install("barrier", &wasm, Some(("barrier.did", did)), None)
        .unwrap();
    host
}

#[test]
fn a_pipelined_tick_keeps_oneways_behind_the_pure_calls_before_them() {
    // Rounds of 2: while a round of bumps commits, the next round of bumps runs beside it,
    // but a snap (a oneway, which reads) waits for the commit, and sees every bump before it.
    let mut host = barrier_host(2, 2);
    let mut batch = Vec::new();
    for bumps in [5, 3, 0, 4] {
        batch.extend((0..bumps).map(|_| "bump"));
        batch.push("snap");
    }
    let calls: Vec<_> = batch
        .iter()
        .map(|m| ("barrier", *m, Args::Text("()"), Principal::anonymous()))
        .collect();
    host.submit_batch(&calls).unwrap();
    let mut rounds = Vec::new();
    host.tick(|r| rounds.push((r.round, r.calls))).unwrap();
    let numbers: Vec<u64> = rounds.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        (numbers[0]..numbers[0] + rounds.len() as u64).collect::<Vec<_>>()
    );
    let sizes: Vec<usize> = rounds.iter().map(|(_, c)| *c).collect();
    assert_eq!(
        sizes,
        [2, 2, 1, 1, 2, 1, 1, 1, 2, 2, 1],
        "rounds of 2, cut at each snap"
    );
    let state = host.dump("barrier").unwrap();
    let seen: Vec<&String> = state["maps"][hex(b"s")]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let value = |n: i128| hex(&n.to_le_bytes());
    // Each snap saw the bumps queued before it: 5, 8, 8 again and 12.
    assert_eq!(seen, [&value(5), &value(8), &value(12)]);
    assert_eq!(state["counters"][hex(b"n")][""], "12");
}

#[test]
fn a_pipelined_tick_halves_its_rounds_as_the_backlog_drains() {
    // Rounds of at most 16: half of what is pending once that is under 32, but never under
    // a quarter of 16 (`round::backlog_cap`). On one worker no round runs beside a commit,
    // so there the rounds stay full.
    let sizes = |threads: usize| {
        let mut host = barrier_host(16, threads);
        // Once run, `bump` is known to be light: the round budget takes as many as fit.
        host.submit("barrier", "bump", Args::Text("()"), Principal::anonymous())
            .unwrap();
        host.tick(|_| {}).unwrap();
        let calls: Vec<_> = (0..100)
            .map(|_| ("barrier", "bump", Args::Text("()"), Principal::anonymous()))
            .collect();
        host.submit_batch(&calls).unwrap();
        let mut sizes = Vec::new();
        host.tick(|r| sizes.push(r.calls)).unwrap();
        let state = host.dump("barrier").unwrap();
        assert_eq!(state["counters"][hex(b"n")][""], "101");
        sizes
    };
    assert_eq!(sizes(2), [16, 16, 16, 16, 16, 10, 5, 4, 1]);
    assert_eq!(sizes(1), [16, 16, 16, 16, 16, 16, 4]);
}

#[test]
fn children_are_never_skipped_while_calls_keep_arriving_during_pipelined_rounds() {
    // A round's commit hands its children seqs under the tail lock but writes their queue
    // chunks only once flushed, while the round after next is already being taken beside
    // it. Calls appended meanwhile get seqs after the children: a take that saw them and
    // not the children would commit past the children's seqs, and the children would never
    // run. Each `hit(a, 3)` fires one child, `hit(a, 4)`; both push a list element, so the
    // list must end with two elements per call submitted.
    // The race is likely, not certain, on one try: three tries at each thread count.
    for threads in [1, 2, 1, 2, 1, 2] {
        let mut host = host(threads, 8, None);
        let intake = host.intake().clone();
        let submitted = 400;
        let appender = std::thread::spawn(move || {
            // A call at a time, the next once a round has committed since: the backlog stays
            // short, so the take beside a commit reaches past the calls before its children.
            for i in 0..submitted {
                let committed = intake.tail().committed();
                let text = format!("({}, 3)", i % 4);
                let call = intake
                    .check("chaos", "hit", Args::Text(&text), Principal::anonymous(), 0)
                    .unwrap();
                // Not flushed: a round may take calls before they are durable.
                intake.append(vec![call]).unwrap();
                while intake.tail().committed() == committed {
                    std::thread::yield_now();
                }
            }
        });
        while !appender.is_finished() {
            host.tick(|_| {}).unwrap();
        }
        appender.join().unwrap();
        host.tick(|_| {}).unwrap();
        assert!(host.pending().unwrap().is_empty());
        let state = host.dump("chaos").unwrap();
        let elements: usize = state["lists"]
            .as_object()
            .unwrap()
            .values()
            .map(|list| list.as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(
            elements,
            2 * submitted,
            "every call and every child ran, at {threads} threads"
        );
    }
}

#[test]
fn a_tick_told_to_stop_commits_the_round_that_ran_and_leaves_the_rest_pending() {
    // Rounds of 4 on two workers: when the first commit is reported, the second round has
    // already run beside it; it commits too, the third (taken meanwhile) stays pending.
    let mut host = barrier_host(4, 2);
    let calls: Vec<_> = (0..40)
        .map(|_| ("barrier", "bump", Args::Text("()"), Principal::anonymous()))
        .collect();
    host.submit_batch(&calls).unwrap();
    let mut reports = Vec::new();
    let rounds = host
        .tick_until(|r| {
            reports.push(r.calls);
            std::ops::ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!((rounds, reports.as_slice()), (2, &[4, 4][..]));
    assert_eq!(host.pending().unwrap().len(), 32);
    host.tick(|_| {}).unwrap();
    assert!(host.pending().unwrap().is_empty());
    let state = host.dump("barrier").unwrap();
    assert_eq!(state["counters"][hex(b"n")][""], "40");
}

/// A batch large enough to be checked on every worker is still refused at its first bad
/// call, in batch order, and queues nothing: submitting the good calls after it gives
/// them the first seqs.
#[test]
fn a_batch_checked_across_workers_refuses_its_first_bad_call_and_queues_nothing() {
    let mut host = host(2, 10_000, None);
    let texts: Vec<String> = (0..600u64)
        .map(|i| match i {
            150 => "(1, \"not a number\")".to_string(),
            450 => "(1)".to_string(),
            _ => format!("({}, {})", i % 4, i % 31),
        })
        .collect();
    let batch: Vec<_> = texts
        .iter()
        .map(|t| ("chaos", "hit", Args::Text(t), Principal::anonymous()))
        .collect();
    let refused = host.submit_batch(&batch).unwrap_err().to_string();
    // Call 150's fault (its `b` is text), not call 450's (it has no `b`).
    assert!(
        refused.contains("\"not a number\" cannot be of type nat64"),
        "{refused}"
    );
    let good: Vec<_> = batch
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 150 && *i != 450)
        .map(|(_, call)| *call)
        .collect();
    let seqs = host.submit_batch(&good).unwrap();
    assert_eq!(
        seqs,
        (1..=598).collect::<Vec<u64>>(),
        "the refused batch took no seq"
    );
}
