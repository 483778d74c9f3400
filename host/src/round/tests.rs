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

/// Chunks [1 2 3 pure] [4 update] [5 6 pure].
fn queue() -> sled::Tree {
    let tree = sled::Config::new()
        .temporary(true)
        .open()
        .unwrap()
        .open_tree("t")
        .unwrap();
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

fn next(tree: &sled::Tree, max: usize, committed: u64, bound: u64) -> (Vec<u64>, Vec<u64>) {
    let taken = next_calls(tree, max, committed, bound).unwrap();
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
