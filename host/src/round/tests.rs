use super::*;
use serde_bytes::ByteBuf;

fn call(kind: CallKind) -> QueuedCall {
    QueuedCall {
        canister: "c".into(),
        method: "m".into(),
        kind,
        caller: ByteBuf::from(vec![4]),
        arg: ByteBuf::new(),
        keys: Vec::new(),
        time: 0,
    }
}

/// An empty queue in a temporary database.
fn empty() -> sled::Tree {
    sled::Config::new()
        .temporary(true)
        .open()
        .unwrap()
        .open_tree("t")
        .unwrap()
}

/// Chunks [1 2 3 pure] [4 update] [5 6 pure].
fn queue() -> sled::Tree {
    let tree = empty();
    let pure = || call(CallKind::Pure);
    for (first, calls) in [
        (1, vec![pure(), pure(), pure()]),
        (4, vec![call(CallKind::Update)]),
        (5, vec![pure(), pure()]),
    ] {
        for (k, v) in queue::records(first, &calls) {
            tree.insert(k, v).unwrap();
        }
    }
    tree
}

/// Costs that know every method of `canisters` at `fuel` a call.
fn costs(canisters: &[&str], fuel: u64) -> budget::Costs {
    let costs = budget::Costs::default();
    for canister in canisters {
        for method in ["m", "u"] {
            let mut ex = Execution::trapped("");
            ex.fuel_used = fuel;
            let mut c = call(CallKind::Pure);
            (c.canister, c.method) = (canister.to_string(), method.into());
            costs.learn(&[(1, c, ex)]);
        }
    }
    costs
}

fn next(tree: &sled::Tree, max: usize, committed: u64, bound: u64) -> (Vec<u64>, Vec<u64>) {
    let costs = costs(&["c"], 1);
    let mut plan = Plan::new(&costs, (u64::MAX, 1), 1);
    let taken = next_calls(
        (tree, None),
        max,
        &Finished::through(committed),
        bound,
        &mut plan,
    )
    .unwrap();
    (taken.calls.iter().map(|(s, _)| *s).collect(), taken.spent)
}

#[test]
fn a_round_takes_the_first_pending_calls_up_to_a_barrier_and_spends_the_chunks_it_empties() {
    let t = queue();
    assert_eq!(
        next(&t, 10, 0, 7),
        (vec![1, 2, 3], vec![1]),
        "stops at the update"
    );
    assert_eq!(
        next(&t, 10, 1, 7),
        (vec![2, 3], vec![1]),
        "skips what is committed"
    );
    assert_eq!(
        next(&t, 2, 0, 7),
        (vec![1, 2], vec![]),
        "a partly taken chunk stays"
    );
    assert_eq!(
        next(&t, 10, 3, 7),
        (vec![4], vec![4]),
        "an update runs alone; chunk 1, wholly committed, is not read"
    );
    // The same once the round that took 3 has removed chunk 1.
    t.remove(queue::key(1)).unwrap();
    assert_eq!(next(&t, 10, 3, 7), (vec![4], vec![4]));
    t.remove(queue::key(4)).unwrap();
    assert_eq!(next(&t, 10, 4, 7), (vec![5, 6], vec![5]));
    assert_eq!(next(&t, 1, 5, 7), (vec![6], vec![5]));
    assert_eq!(
        next(&t, 10, 4, 5),
        (vec![], vec![]),
        "nothing at or past the bound"
    );
    assert_eq!(next(&t, 10, 6, 7), (vec![], vec![5]), "all committed");
}

/// A queue of `calls` (canister, update?, key) from seq 1, in chunks of up to 3.
fn queue_of(calls: &[(u8, bool, u8)]) -> sled::Tree {
    let tree = empty();
    let calls: Vec<QueuedCall> = calls
        .iter()
        .map(|(canister, update, key)| {
            let mut c = call(if *update {
                CallKind::Update
            } else {
                CallKind::Pure
            });
            c.canister = format!("c{}", canister % 3);
            c.method = if *update { "u" } else { "m" }.into();
            c.keys = vec![ByteBuf::from(vec![key % 2])];
            c
        })
        .collect();
    for (first, chunk) in (1..).step_by(3).zip(calls.chunks(3)) {
        for (k, v) in queue::records(first, chunk) {
            tree.insert(k, v).unwrap();
        }
    }
    tree
}

quickcheck::quickcheck! {
    /// Invariant A, whatever is done already, the budget and the cap: each canister's
    /// taken calls are the first of its pending ones; an update is taken alone and only
    /// with nothing of its canister pending before it; and every canister with a pending
    /// pure call first in its line gets into a round that is not an update's, unless the
    /// cap is reached first.
    fn prop_a_round_takes_each_canister_s_calls_as_a_prefix(
        calls: Vec<(u8, bool, u8)>,
        done: Vec<u8>,
        fuel: u8,
        max: u8
    ) -> bool {
        let tree = queue_of(&calls);
        let bound = calls.len() as u64 + 1;
        let mut finished = Finished::default();
        finished.finish(done.iter().map(|d| 1 + u64::from(*d) % bound.max(1)).filter(|s| *s < bound));
        let costs = costs(&["c0", "c1", "c2"], 10);
        let mut plan = Plan::new(&costs, (u64::from(fuel % 50), 10), 2);
        let max = usize::from(max % 8) + 1;
        let taken = next_calls((&tree, None), max, &finished, bound, &mut plan).unwrap();
        let pending: Vec<(u64, QueuedCall)> = queue::pending(&tree, finished.clone())
            .map(Result::unwrap)
            .collect();
        let taken_seqs: Vec<u64> = taken.calls.iter().map(|(s, _)| *s).collect();
        let in_round = |seq: u64| taken_seqs.contains(&seq);
        let prefix = ["c0", "c1", "c2"].iter().all(|c| {
            let line: Vec<u64> = pending.iter().filter(|(_, p)| p.canister == *c).map(|(s, _)| *s).collect();
            let n = line.iter().take_while(|s| in_round(**s)).count();
            line[n..].iter().all(|s| !in_round(*s))
        });
        let updates_alone = taken.calls.iter().all(|(_, c)| c.kind == CallKind::Pure)
            || taken.calls.len() == 1;
        let full = taken.calls.len() >= max;
        let fair = full
            || taken.calls.iter().any(|(_, c)| c.kind != CallKind::Pure)
            || ["c0", "c1", "c2"].iter().all(|c| {
                match pending.iter().find(|(_, p)| p.canister == *c) {
                    Some((seq, p)) if p.kind == CallKind::Pure => in_round(*seq),
                    _ => true,
                }
            });
        let spent_ok = taken.spent.iter().all(|first| {
            (*first..*first + 3).filter(|s| *s < bound).all(|s| finished.contains(s) || in_round(s))
        });
        prefix && updates_alone && fair && spent_ok && taken_seqs.iter().all(|s| !finished.contains(*s))
    }
}

#[test]
fn a_heavy_backlog_of_one_canister_leaves_room_for_the_others() {
    // c0: ten calls on one key; c1: one call after them.
    let mut calls = vec![(0, false, 0); 10];
    calls.push((1, false, 0));
    let tree = queue_of(&calls);
    let costs = costs(&["c0", "c1"], 10);
    // A critical path of 25 fuel: c0's chain holds two calls, the third would pass it.
    let mut plan = Plan::new(&costs, (25, 10), 1);
    let taken = next_calls((&tree, None), 100, &Finished::default(), 12, &mut plan).unwrap();
    let seqs: Vec<u64> = taken.calls.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, vec![1, 2, 11]);
    assert!(taken.spent.is_empty(), "every chunk keeps a call of c0");
    // A method never seen is taken to use the per-call limit, here 20: one call fits.
    let unknown = budget::Costs::default();
    let mut plan = Plan::new(&unknown, (25, 20), 1);
    let taken = next_calls((&tree, None), 100, &Finished::default(), 12, &mut plan).unwrap();
    let seqs: Vec<u64> = taken.calls.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, vec![1, 11]);
}

#[test]
fn an_update_behind_pure_calls_of_other_canisters_is_found_and_runs_alone() {
    // c0 pure, c1 update, c0 pure, c1 pure.
    let tree = queue_of(&[(0, false, 0), (1, true, 0), (0, false, 0), (1, false, 0)]);
    let costs = costs(&["c0", "c1"], 1);
    let mut plan = Plan::new(&costs, (u64::MAX, 1), 1);
    let taken = next_calls((&tree, None), 100, &Finished::default(), 5, &mut plan).unwrap();
    let seqs: Vec<u64> = taken.calls.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, vec![1, 3], "c1 waits behind its update, c0 goes on");
    assert!(taken.update_waits);
    let update = next_update((&tree, None), &Finished::default(), 5).unwrap();
    assert_eq!(
        update.calls.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![2]
    );
    assert!(update.spent.is_empty(), "1 and 3 are pending");
    // Once they are done, the update's round removes their chunk with it.
    let mut done = Finished::default();
    done.finish([1, 3]);
    let update = next_update((&tree, None), &done, 5).unwrap();
    assert_eq!((update.calls[0].0, update.spent), (2, vec![1]));
    // Not while a pure call of its own canister is pending before it.
    let tree = queue_of(&[(1, false, 0), (1, true, 0)]);
    assert!(next_update((&tree, None), &Finished::default(), 3)
        .unwrap()
        .calls
        .is_empty());
}

#[test]
fn a_round_looks_each_method_up_once_and_traps_calls_to_what_is_gone() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "canister_update a")) (func (export "canister_update b")))"#,
    )
    .unwrap();
    let mut host = crate::Host::temporary().unwrap();
    let did = "service : { a : () -> () pure_update; b : () -> () pure_update }";
    host.install("c", &wasm, Some(("c.did", did)), None)
        .unwrap();
    let calls: Vec<(u64, QueuedCall)> = [("c", "a"), ("c", "a"), ("c", "b"), ("c", "a")]
        .into_iter()
        .chain([("gone", "a"), ("c", "nope"), ("c", "b"), ("gone", "a")])
        .enumerate()
        .map(|(seq, (canister, method))| {
            let mut c = call(CallKind::Pure);
            (c.canister, c.method) = (canister.into(), method.into());
            (seq as u64, c)
        })
        .collect();
    let (targets, which) = targets(host.registry(), &calls);
    assert_eq!(which, [0, 0, 1, 0, 2, 3, 1, 2]);
    let exports: Vec<Result<&str, &str>> = targets
        .iter()
        .map(|t| t.as_ref().map(|(_, e)| e.as_str()).map_err(String::as_str))
        .collect();
    assert_eq!(
        exports,
        [
            Ok("canister_update a"),
            Ok("canister_update b"),
            Err("canister `gone` is not installed"),
            Err("canister `c` has no method `nope`"),
        ]
    );
}

/// A canister whose module is not compiled yet (as in a new process whose data dir lost its
/// compiled module) is compiled by [`compile`], before any of its calls runs; a target
/// that names no canister is left to its calls.
#[test]
fn a_round_compiles_its_modules_before_its_calls_run() {
    let example = &commute_examples::ANALYTICS;
    let did = commute_did::Did::parse(example.did_path, example.did).unwrap();
    let mut registry = Registry::default();
    registry.insert(Canister::new(example.name, example.wasm.into(), &did, None));
    let engine = crate::registry::engine_for(crate::execute::Limits::default()).unwrap();
    let to = |canister: &str| {
        let mut c = call(CallKind::Pure);
        (c.canister, c.method) = (canister.into(), "view".into());
        c
    };
    let calls = vec![
        (1, to(example.name)),
        (2, to("gone")),
        (3, to(example.name)),
    ];
    let (targets, which) = targets(&registry, &calls);
    assert_eq!(which, [0, 1, 0]);
    let canister = registry.get(example.name).unwrap();
    assert!(!canister.is_compiled());
    compile(&engine, &targets);
    assert!(canister.is_compiled());
    assert!(
        targets[1].is_err(),
        "not installed: left for its call to trap"
    );
}
