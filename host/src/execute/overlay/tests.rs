use quickcheck::{QuickCheck, TestResult};

use super::Overlay;
use crate::execute::model::Model;
use crate::execute::state::StateView;
use crate::write_log::arbitrary::{KEYS, NAMES};
use crate::write_log::Op;

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

fn remove(name: &[u8], key: &[u8]) -> Op {
    Op::MapRemove {
        name: name.to_vec(),
        key: key.to_vec(),
    }
}

fn push(name: &[u8], value: &[u8]) -> Op {
    Op::ListPush {
        name: name.to_vec(),
        value: value.to_vec(),
    }
}

fn overlay(ops: &[Op]) -> Overlay {
    let mut own = Overlay::default();
    for op in ops {
        own.record(op);
    }
    own
}

/// Every key of map `name`, in order, through `map_next_key`.
fn keys(view: &dyn StateView, name: &[u8]) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some(key) = view.map_next_key(name, after.as_deref()).unwrap() {
        keys.push(key.clone());
        after = Some(key);
    }
    keys
}

#[test]
fn counters_add_own_deltas_to_committed() {
    let base = Model::default().applied(&[counter(b"c", b"", 5)]);
    let own = overlay(&[counter(b"c", b"", -2), counter(b"c", b"", 10)]);
    let view = own.view(&base);
    assert_eq!(view.counter_get(b"c", b"").unwrap(), 13);
    assert_eq!(view.counter_get(b"c", b"other").unwrap(), 0);
}

#[test]
fn counters_wrap_like_the_store() {
    let base = Model::default()
        .applied(&[counter(b"c", b"", i64::MAX)])
        .applied(&[counter(b"c", b"", i64::MAX)]);
    let own = overlay(&[counter(b"c", b"", i64::MAX)]);
    let want = (2 * i128::from(i64::MAX)).wrapping_add(i128::from(i64::MAX));
    assert_eq!(own.view(&base).counter_get(b"c", b"").unwrap(), want);
}

#[test]
fn map_last_own_write_wins() {
    let base = Model::default().applied(&[put(b"m", b"a", b"old"), put(b"m", b"b", b"kept")]);
    let own = overlay(&[
        put(b"m", b"a", b"new"),
        remove(b"m", b"b"),
        put(b"m", b"c", b"1"),
        remove(b"m", b"c"),
        remove(b"m", b"d"),
        put(b"m", b"d", b"back"),
    ]);
    let view = own.view(&base);
    assert_eq!(view.map_get(b"m", b"a").unwrap(), Some(b"new".to_vec()));
    assert_eq!(view.map_get(b"m", b"b").unwrap(), None);
    assert_eq!(view.map_get(b"m", b"c").unwrap(), None);
    assert_eq!(view.map_get(b"m", b"d").unwrap(), Some(b"back".to_vec()));
    assert_eq!(keys(&view, b"m"), [b"a".to_vec(), b"d".to_vec()]);
}

#[test]
fn map_next_key_merges_and_skips_own_removes() {
    let base = Model::default().applied(&[
        put(b"m", b"a", b""),
        put(b"m", b"c", b""),
        put(b"m", b"e", b""),
        put(b"m", b"g", b""),
        put(b"other", b"b", b""),
    ]);
    let own = overlay(&[
        put(b"m", b"b", b""),
        remove(b"m", b"c"),
        remove(b"m", b"e"),
        put(b"m", b"f", b""),
    ]);
    let view = own.view(&base);
    assert_eq!(
        keys(&view, b"m"),
        [b"a".to_vec(), b"b".to_vec(), b"f".to_vec(), b"g".to_vec()]
    );
    assert_eq!(
        view.map_next_key(b"m", Some(b"b")).unwrap(),
        Some(b"f".to_vec())
    );
    assert_eq!(view.map_next_key(b"m", Some(b"g")).unwrap(), None);
    assert_eq!(keys(&view, b"other"), [b"b".to_vec()]);
}

#[test]
fn list_own_pushes_follow_committed() {
    let base = Model::default().applied(&[push(b"l", b"0"), push(b"l", b"1")]);
    let own = overlay(&[push(b"l", b"2"), push(b"fresh", b"x")]);
    let view = own.view(&base);
    assert_eq!(view.list_len(b"l").unwrap(), 3);
    let all: Vec<_> = (0..4).map(|i| view.list_get(b"l", i).unwrap()).collect();
    assert_eq!(
        all,
        [
            Some(b"0".to_vec()),
            Some(b"1".to_vec()),
            Some(b"2".to_vec()),
            None
        ]
    );
    assert_eq!(view.list_len(b"fresh").unwrap(), 1);
    assert_eq!(view.list_get(b"fresh", u64::MAX).unwrap(), None);
}

#[test]
fn empty_overlay_is_the_base() {
    let base = Model::default().applied(&[put(b"m", b"k", b"v"), push(b"l", b"x")]);
    let own = Overlay::default();
    assert!(own.is_empty());
    let view = own.view(&base);
    assert_eq!(view.map_get(b"m", b"k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(keys(&view, b"m"), [b"k".to_vec()]);
    assert_eq!(view.list_get(b"l", 0).unwrap(), Some(b"x".to_vec()));
}

/// Invariant (A): `overlay(own).view(base)` reads as `base` with `own` applied, for every
/// read over the alphabets.
#[test]
fn prop_overlay_reads_as_applied() {
    fn prop(committed: Vec<Op>, own: Vec<Op>) -> TestResult {
        if committed.len() + own.len() > 40 {
            return TestResult::discard();
        }
        let base = Model::default().applied(&committed);
        let want = base.clone().applied(&own);
        let own = overlay(&own);
        let got = own.view(&base);
        for &name in NAMES {
            for &key in KEYS {
                assert_eq!(
                    got.counter_get(name, key).unwrap(),
                    want.counter_get(name, key).unwrap()
                );
                assert_eq!(
                    got.map_get(name, key).unwrap(),
                    want.map_get(name, key).unwrap()
                );
                assert_eq!(
                    got.map_next_key(name, Some(key)).unwrap(),
                    want.map_next_key(name, Some(key)).unwrap()
                );
            }
            assert_eq!(
                got.map_next_key(name, None).unwrap(),
                want.map_next_key(name, None).unwrap()
            );
            let len = want.list_len(name).unwrap();
            assert_eq!(got.list_len(name).unwrap(), len);
            for i in 0..=len {
                assert_eq!(
                    got.list_get(name, i).unwrap(),
                    want.list_get(name, i).unwrap()
                );
            }
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Vec<Op>, Vec<Op>) -> TestResult);
}
