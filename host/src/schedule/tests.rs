use super::*;
use quickcheck::{quickcheck, TestResult};
use std::collections::BTreeSet;
use std::sync::atomic::AtomicUsize;

/// Generated calls: each a set of (canister, key) from small alphabets, so keys collide.
fn calls(raw: &[Vec<(u8, u8)>]) -> Vec<Vec<(String, Vec<u8>)>> {
    raw.iter()
        .map(|keys| {
            keys.iter()
                .take(3)
                .map(|(c, k)| (format!("c{}", c % 2), vec![k % 5]))
                .collect()
        })
        .collect()
}

/// The model: for each key of call i, the latest earlier call holding that key.
fn model(calls: &[Vec<(String, Vec<u8>)>]) -> Vec<Vec<u32>> {
    (0..calls.len())
        .map(|i| {
            let mut preds = BTreeSet::new();
            for key in &calls[i] {
                if let Some(j) = (0..i).rev().find(|&j| calls[j].contains(key)) {
                    preds.insert(j as u32);
                }
            }
            preds.into_iter().collect()
        })
        .collect()
}

fn pool(threads: usize) -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn the_dag_is_minimal() {
    let s = Schedule::build(&[
        vec![("a", &b"x"[..])],
        vec![("a", b"x")],
        vec![("a", b"x")],
        vec![("a", b"y")],
        vec![("a", b"x"), ("a", b"y")],
        vec![("b", b"x")],
        vec![],
    ]);
    // Only the latest earlier holder: 2 waits for 1, not for 0.
    assert_eq!(s.preds(1), &[0]);
    assert_eq!(s.preds(2), &[1]);
    // No shared key, no edge.
    assert_eq!(s.preds(3), &[] as &[u32]);
    // Two keys: waits for the latest holder of each.
    assert_eq!(s.preds(4), &[2, 3]);
    // Keys are scoped to the canister; calls without keys never wait.
    assert_eq!(s.preds(5), &[] as &[u32]);
    assert_eq!(s.preds(6), &[] as &[u32]);
    assert_eq!(s.edges(), 4);
}

#[test]
fn a_call_naming_one_key_twice_has_no_self_edge() {
    let s = Schedule::build(&[vec![("a", &b"k"[..]), ("a", b"k")], vec![("a", b"k")]]);
    assert_eq!(s.preds(0), &[] as &[u32]);
    assert_eq!(s.preds(1), &[0]);
}

quickcheck! {
    /// preds(i) = { max{ j < i : k ∈ keys(j) } : k ∈ keys(i) }, and nothing else.
    fn prop_dag_matches_the_model(raw: Vec<Vec<(u8, u8)>>) -> bool {
        let calls = calls(&raw);
        let s = Schedule::build(&calls);
        (0..calls.len()).all(|i| s.preds(i) == model(&calls)[i].as_slice())
    }

    /// Invariant A: `succs` is the transpose of `preds`, each call's successors ascending.
    fn prop_succs_are_the_transpose(raw: Vec<Vec<(u8, u8)>>) -> bool {
        let calls = calls(&raw);
        let s = Schedule::build(&calls);
        let n = calls.len() as u32;
        (0..n).all(|p| {
            let want: Vec<u32> = (0..n).filter(|&i| s.preds(i as usize).contains(&p)).collect();
            s.succs.of(p as usize) == want.as_slice()
        }) && s.edges() == (0..calls.len()).map(|i| s.preds(i).len()).sum::<usize>()
    }

    /// Invariant B: every call runs once, after all its predecessors ended, at any thread
    /// count; results come back in call order. (Many of the drawn rounds have no edge at
    /// all, and run as independent calls.)
    fn prop_run_respects_the_dag(raw: Vec<Vec<(u8, u8)>>, threads: u8) -> TestResult {
        let calls = calls(&raw);
        let s = Schedule::build(&calls);
        let runs: Vec<AtomicUsize> = (0..calls.len()).map(|_| AtomicUsize::new(0)).collect();
        let clock = AtomicUsize::new(0);
        let stamps: Vec<Mutex<(usize, usize)>> = (0..calls.len()).map(|_| Mutex::new((0, 0))).collect();
        let pool = pool(1 + threads as usize % 8);
        let (out, _) = s.run(&pool, |i| {
            runs[i].fetch_add(1, Ordering::SeqCst);
            let start = clock.fetch_add(1, Ordering::SeqCst);
            std::hint::black_box((0..(i % 7) * 100).sum::<usize>());
            let end = clock.fetch_add(1, Ordering::SeqCst);
            *stamps[i].lock().unwrap() = (start, end);
            i
        }, false);
        let stamps: Vec<(usize, usize)> = stamps.into_iter().map(|m| m.into_inner().unwrap()).collect();
        let ordered = (0..calls.len()).all(|i| {
            s.preds(i).iter().all(|&p| stamps[p as usize].1 < stamps[i].0)
        });
        let once = runs.iter().all(|r| r.load(Ordering::SeqCst) == 1);
        TestResult::from_bool(once && ordered && out == (0..calls.len()).collect::<Vec<_>>())
    }
}

#[test]
fn independent_calls_overlap_on_two_threads() {
    // Two calls with no shared key on two threads: each waits (bounded) until the other has
    // started, which can only happen if they run at the same time. A spin with a deadline,
    // not a sleep: the assertion is on what was observed.
    let s = Schedule::build(&[vec![("a", &b"x"[..])], vec![("a", b"y")]]);
    let started = AtomicUsize::new(0);
    let (out, _) = s.run(
        &pool(2),
        |_| {
            started.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(10);
            while started.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                std::hint::spin_loop();
            }
            started.load(Ordering::SeqCst)
        },
        false,
    );
    assert_eq!(out, vec![2, 2], "both calls ran at once");
}

#[test]
fn trace_gives_work_and_span() {
    let s = Schedule::build(&[vec![("a", &b"x"[..])], vec![("a", b"x")], vec![("a", b"y")]]);
    let (_, trace) = s.run(
        &pool(2),
        |i| std::hint::black_box((0..(i + 1) * 10_000).sum::<usize>()),
        true,
    );
    let trace = trace.unwrap();
    assert!(trace.start[1] >= trace.end[0]);
    assert_eq!(trace.ready[1], trace.end[0]);
    assert!(trace.work() >= trace.span(&s));
    assert!(trace.span(&s) > Duration::ZERO);
}

#[test]
fn independent_calls_are_traced_ready_at_once() {
    let s = Schedule::build(&[vec![("a", &b"x"[..])], vec![("a", b"y")], vec![]]);
    assert_eq!(s.edges(), 0);
    let (out, trace) = s.run(
        &pool(2),
        |i| std::hint::black_box((0..(i + 1) * 10_000).sum::<usize>()),
        true,
    );
    assert_eq!(out.len(), 3);
    let trace = trace.unwrap();
    assert!(trace.ready.iter().all(|r| r.is_zero()));
    assert!((0..3).all(|i| trace.end[i] >= trace.start[i]));
    assert!(trace.work() > Duration::ZERO);
    assert_eq!(
        trace.span(&s),
        (0..3).map(|i| trace.end[i] - trace.start[i]).max().unwrap()
    );
}
