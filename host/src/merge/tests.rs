use super::*;

fn log(build: impl FnOnce(&mut WriteLog)) -> WriteLog {
    let mut log = WriteLog::default();
    build(&mut log);
    log
}

fn counters(delta: &Delta) -> Vec<(String, Vec<u8>, Vec<u8>, i128)> {
    delta
        .counters()
        .map(|c| (c.canister.into(), c.name.into(), c.key.into(), c.delta))
        .collect()
}

fn map_values(delta: &Delta) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    delta
        .maps()
        .map(|m| (m.key.to_vec(), m.value.map(<[u8]>::to_vec)))
        .collect()
}

#[test]
fn counters_sum_per_canister_name_and_key() {
    let a = log(|l| {
        l.counter_add(b"n", b"k", 2).unwrap();
        l.counter_add(b"n", b"", 5).unwrap();
    });
    let b = log(|l| l.counter_add(b"n", b"k", 3).unwrap());
    let delta = Delta::from_calls([(1, "x", &a), (2, "x", &b), (3, "y", &b)]).unwrap();
    assert_eq!(
        counters(&delta),
        [
            ("x".into(), b"n".to_vec(), b"".to_vec(), 5),
            ("x".into(), b"n".to_vec(), b"k".to_vec(), 5),
            ("y".into(), b"n".to_vec(), b"k".to_vec(), 3),
        ]
    );
}

#[test]
fn counters_sum_exactly_beyond_i64() {
    let max = log(|l| l.counter_add(b"n", b"", i64::MAX).unwrap());
    let delta = Delta::from_calls([(1, "c", &max), (2, "c", &max), (3, "c", &max)]).unwrap();
    assert_eq!(counters(&delta)[0].3, 3 * i128::from(i64::MAX));
}

#[test]
fn counter_summing_to_zero_is_dropped() {
    let up = log(|l| l.counter_add(b"n", b"", 4).unwrap());
    let down = log(|l| l.counter_add(b"n", b"", -4).unwrap());
    let delta = Delta::from_calls([(1, "c", &up), (2, "c", &down)]).unwrap();
    assert_eq!(delta.write_count(), 0);
    assert_eq!(delta.seqs().len(), 2);
}

#[test]
fn map_highest_seq_wins_in_any_merge_order() {
    let old = log(|l| l.map_put(b"m", b"k", b"old").unwrap());
    let new = log(|l| l.map_put(b"m", b"k", b"new").unwrap());
    let forward = Delta::from_call(1, "c", &old)
        .merged(Delta::from_call(2, "c", &new))
        .unwrap();
    let backward = Delta::from_call(2, "c", &new)
        .merged(Delta::from_call(1, "c", &old))
        .unwrap();
    assert_eq!(forward, backward);
    assert_eq!(
        map_values(&forward),
        [(b"k".to_vec(), Some(b"new".to_vec()))]
    );
}

#[test]
fn map_later_op_within_a_call_wins() {
    let delta = Delta::from_call(
        1,
        "c",
        &log(|l| {
            l.map_put(b"m", b"k", b"first").unwrap();
            l.map_remove(b"m", b"k").unwrap();
            l.map_put(b"m", b"k", b"last").unwrap();
        }),
    );
    assert_eq!(
        map_values(&delta),
        [(b"k".to_vec(), Some(b"last".to_vec()))]
    );
}

#[test]
fn map_remove_is_a_tombstone_that_wins_by_clock() {
    let put = log(|l| l.map_put(b"m", b"k", b"v").unwrap());
    let remove = log(|l| l.map_remove(b"m", b"k").unwrap());
    // A later remove beats an earlier put...
    let removed = Delta::from_call(2, "c", &remove)
        .merged(Delta::from_call(1, "c", &put))
        .unwrap();
    assert_eq!(map_values(&removed), [(b"k".to_vec(), None)]);
    // ...and a later put beats an earlier remove.
    let put_back = Delta::from_call(1, "c", &remove)
        .merged(Delta::from_call(2, "c", &put))
        .unwrap();
    assert_eq!(
        map_values(&put_back),
        [(b"k".to_vec(), Some(b"v".to_vec()))]
    );
}

#[test]
fn op_index_breaks_no_tie_across_seqs() {
    // Op 5 of seq 1 loses to op 0 of seq 2: seq orders first.
    let early = log(|l| {
        for _ in 0..5 {
            l.counter_add(b"pad", b"", 1).unwrap();
        }
        l.map_put(b"m", b"k", b"seq 1").unwrap();
    });
    let late = log(|l| l.map_put(b"m", b"k", b"seq 2").unwrap());
    let delta = Delta::from_calls([(2, "c", &late), (1, "c", &early)]).unwrap();
    assert_eq!(
        map_values(&delta),
        [(b"k".to_vec(), Some(b"seq 2".to_vec()))]
    );
}

#[test]
fn lists_are_a_bag_ordered_by_seq_then_index() {
    let two = log(|l| {
        l.list_push(b"l", b"a").unwrap();
        l.counter_add(b"n", b"", 1).unwrap();
        l.list_push(b"l", b"b").unwrap();
    });
    let one = log(|l| l.list_push(b"l", b"z").unwrap());
    let delta = Delta::from_calls([(7, "c", &two), (3, "c", &one)]).unwrap();
    let pushes: Vec<(u64, u32, &[u8])> = delta.lists().map(|p| (p.seq, p.index, p.value)).collect();
    assert_eq!(pushes, [(3, 0, &b"z"[..]), (7, 0, b"a"), (7, 2, b"b")]);
}

#[test]
fn identical_pushes_of_different_calls_are_both_kept() {
    let push = log(|l| l.list_push(b"l", b"same").unwrap());
    let delta = Delta::from_calls([(1, "c", &push), (2, "c", &push)]).unwrap();
    assert_eq!(delta.lists().count(), 2);
}

#[test]
fn duplicate_seq_is_refused_and_nothing_changes() {
    let add = log(|l| l.counter_add(b"n", b"", 1).unwrap());
    let mut delta = Delta::from_calls([(1, "c", &add), (2, "c", &add)]).unwrap();
    let before = delta.clone();
    // A different log under a committed seq is refused too: the seq names the call.
    let err = delta
        .merge(Delta::from_call(2, "other", &WriteLog::default()))
        .unwrap_err();
    assert_eq!(err, MergeError::DuplicateSeq { seq: 2 });
    assert_eq!(
        err.to_string(),
        "seq 2 is in both deltas: a call's writes are merged once, never twice"
    );
    assert_eq!(delta, before);
}

#[test]
fn duplicate_seq_reports_the_smallest_shared() {
    let empty = WriteLog::default();
    let a = Delta::from_calls([(1, "c", &empty), (4, "c", &empty), (9, "c", &empty)]).unwrap();
    let b = Delta::from_calls([(9, "c", &empty), (4, "c", &empty)]).unwrap();
    assert_eq!(
        a.clone().merged(b.clone()),
        Err(MergeError::DuplicateSeq { seq: 4 })
    );
    assert_eq!(b.merged(a), Err(MergeError::DuplicateSeq { seq: 4 }));
}

#[test]
fn empty_calls_still_count_their_seq() {
    let delta = Delta::from_call(42, "c", &WriteLog::default());
    assert!(!delta.is_empty());
    assert_eq!(
        (delta.first_seq(), delta.last_seq(), delta.write_count()),
        (Some(42), Some(42), 0)
    );
}

#[test]
fn new_is_the_identity() {
    let add = log(|l| l.map_put(b"m", b"k", b"v").unwrap());
    let delta = Delta::from_call(1, "c", &add);
    assert_eq!(Delta::new().merged(delta.clone()).unwrap(), delta);
    assert_eq!(delta.clone().merged(Delta::new()).unwrap(), delta);
}
