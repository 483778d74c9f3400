use super::*;
use crate::write_log::WriteLog;

fn log(build: impl FnOnce(&mut WriteLog)) -> WriteLog {
    let mut log = WriteLog::default();
    build(&mut log);
    log
}

fn call(seq: u64, canister: &str, build: impl FnOnce(&mut WriteLog)) -> Delta {
    Delta::from_call(seq, canister, &log(build))
}

fn dump(store: &Store) -> Vec<(String, Entry)> {
    store
        .reader()
        .all_entries()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every record of the resident state, then every record of the tree but the journals
/// and checkpoint chunks (binary copies of the state), keys escaped and values in hex: the
/// layout of the module doc.
fn raw_records(store: &Store) -> String {
    let mut out = String::new();
    let resident: Vec<_> = store
        .reader()
        .resident()
        .prefixed(b"s")
        .into_iter()
        .map(|(k, v)| (k, v.clone()))
        .collect();
    let tree = store.reader().tree().iter().map(Result::unwrap);
    let copies = |key: &sled::IVec| key.starts_with(b"mj") || key.starts_with(b"mc");
    for (key, value) in resident.into_iter().chain(tree.filter(|(k, _)| !copies(k))) {
        let value = if &*key == area::META_LATTICE {
            format!(
                "(2048 bytes; blake3 {})",
                Lattice::from_bytes(&value).unwrap().root()
            )
        } else {
            hex(&value)
        };
        out += &format!("{}\n  = {value}\n", key.escape_ascii());
    }
    out
}

#[test]
fn layout_matches_golden() {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "web", |l| {
            l.counter_add(b"views", b"/", 3).unwrap();
            l.counter_add(b"hits", b"", 1).unwrap();
            l.map_put(b"last", b"ann", b"login").unwrap();
            l.list_push(b"events", b"a").unwrap();
            l.list_push(b"events", b"b").unwrap();
        }))
        .unwrap();
    let round = call(2, "ab", |l| l.map_put(b"m", b"", b"x").unwrap())
        .merged(call(3, "web", |l| {
            l.counter_add(b"hits", b"", -1).unwrap();
            l.counter_add(b"views", b"/", -4).unwrap();
            l.list_push(b"events", b"c").unwrap();
        }))
        .unwrap();
    store.apply(&round).unwrap();
    let mut out = String::from(
        "# Every record after two commits (see the layout in store.rs): escaped key, then value in hex.\n",
    );
    out += &raw_records(&store);
    check_golden("src/store/layout.golden", &out);
}

#[test]
fn counter_reaching_zero_is_absent_and_restores_the_root() {
    let mut store = Store::temporary().unwrap();
    let empty = store.root();
    store
        .apply(&call(1, "c", |l| l.counter_add(b"n", b"k", 5).unwrap()))
        .unwrap();
    assert_ne!(store.root(), empty);
    store
        .apply(&call(2, "c", |l| l.counter_add(b"n", b"k", -5).unwrap()))
        .unwrap();
    assert_eq!(store.reader().counter_get("c", b"n", b"k").unwrap(), 0);
    assert!(dump(&store).is_empty());
    assert_eq!(store.root(), empty);
    store.verify().unwrap();
}

#[test]
fn counter_wraps_at_i128() {
    let mut store = Store::temporary().unwrap();
    // Reach i128::MAX through the tree directly (2^64 calls would be needed otherwise).
    let key = scoped("c", COUNTER, b"n", b"");
    let mut setup = store.prepare(&Delta::new()).unwrap();
    let max = sled::IVec::from(&i128::MAX.to_le_bytes()[..]);
    setup.batch.insert(key.clone(), max.clone());
    setup.lattice.insert(&RootEntry::Counter {
        canister: "c",
        name: b"n",
        key: b"",
        value: i128::MAX,
    });
    store.commit(setup).unwrap();
    store
        .apply(&call(1, "c", |l| l.counter_add(b"n", b"", 1).unwrap()))
        .unwrap();
    assert_eq!(
        store.reader().counter_get("c", b"n", b"").unwrap(),
        i128::MIN
    );
    store.verify().unwrap();
}

#[test]
fn map_remove_of_absent_key_changes_nothing() {
    let mut store = Store::temporary().unwrap();
    let root = store.root();
    store
        .apply(&call(1, "c", |l| l.map_remove(b"m", b"k").unwrap()))
        .unwrap();
    assert_eq!(store.root(), root);
    assert_eq!(store.reader().map_get("c", b"m", b"k").unwrap(), None);
}

#[test]
fn map_overwrite_and_remove_update_the_root() {
    let mut store = Store::temporary().unwrap();
    let empty = store.root();
    let v1 = store
        .apply(&call(1, "c", |l| l.map_put(b"m", b"k", b"1").unwrap()))
        .unwrap();
    let v2 = store
        .apply(&call(2, "c", |l| l.map_put(b"m", b"k", b"2").unwrap()))
        .unwrap();
    assert_ne!(v1, v2);
    let back = store
        .apply(&call(3, "c", |l| l.map_put(b"m", b"k", b"1").unwrap()))
        .unwrap();
    assert_eq!(
        back, v1,
        "the root is a function of the state, not of its history"
    );
    let gone = store
        .apply(&call(4, "c", |l| l.map_remove(b"m", b"k").unwrap()))
        .unwrap();
    assert_eq!(gone, empty);
}

#[test]
fn map_next_key_walks_one_map_in_byte_order() {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "c", |l| {
            for key in [&b"b"[..], b"", b"a\xff", b"a", b"a\0"] {
                l.map_put(b"m", key, b"v").unwrap();
            }
            // Neighbours that must not leak into map "m": a longer name, another canister.
            l.map_put(b"m2", b"0", b"v").unwrap();
            l.map_put(b"l", b"zz", b"v").unwrap();
        }))
        .unwrap();
    store
        .apply(&call(2, "cc", |l| l.map_put(b"m", b"c", b"v").unwrap()))
        .unwrap();
    let reader = store.reader();
    let mut keys = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some(key) = reader.map_next_key("c", b"m", after.as_deref()).unwrap() {
        keys.push(key.clone());
        after = Some(key);
    }
    assert_eq!(keys, [&b""[..], b"a", b"a\0", b"a\xff", b"b"]);
    assert_eq!(reader.map_next_key("c", b"m", Some(b"zzz")).unwrap(), None);
    assert_eq!(reader.map_next_key("c", b"none", None).unwrap(), None);
    assert_eq!(
        reader.map_next_key("cc", b"m", Some(b"")).unwrap(),
        Some(b"c".to_vec())
    );
}

#[test]
fn lists_read_in_seq_then_index_order() {
    let mut store = Store::temporary().unwrap();
    let round = call(5, "c", |l| {
        l.list_push(b"l", b"5.0").unwrap();
        l.list_push(b"l", b"5.1").unwrap();
    })
    .merged(call(2, "c", |l| l.list_push(b"l", b"2.0").unwrap()))
    .unwrap();
    store.apply(&round).unwrap();
    store
        .apply(&call(9, "c", |l| l.list_push(b"l", b"9.0").unwrap()))
        .unwrap();
    let reader = store.reader();
    assert_eq!(reader.list_len("c", b"l").unwrap(), 4);
    let items: Vec<Vec<u8>> = (0..5)
        .filter_map(|i| reader.list_get("c", b"l", i).unwrap())
        .collect();
    assert_eq!(items, [&b"2.0"[..], b"5.0", b"5.1", b"9.0"]);
    assert_eq!(reader.list_get("c", b"l", 4).unwrap(), None);
    assert_eq!(reader.list_get("c", b"l", u64::MAX).unwrap(), None);
    assert_eq!(reader.list_len("c", b"l2").unwrap(), 0);
}

/// The position records of list `name` of `canister`, as `(pos, (seq, index))`.
fn positions(store: &Store, canister: &str, name: &[u8]) -> Vec<(u64, (u64, u32))> {
    let scope = scoped(canister, LIST_POS, name, b"");
    let state = store.reader().resident();
    state
        .prefixed(&scope)
        .into_iter()
        .map(|(key, at)| {
            let pos = u64::from_be_bytes(key[scope.len()..].try_into().unwrap());
            let seq = u64::from_be_bytes(at[..8].try_into().unwrap());
            (pos, (seq, u32::from_be_bytes(at[8..].try_into().unwrap())))
        })
        .collect()
}

/// Three commits to list "l" of "c" (one a round whose seqs merge out of order), with
/// neighbours that must not disturb its positions: list "l2", and "l" of canister "cc".
fn three_commits() -> Store {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "c", |l| {
            l.list_push(b"l", b"1.0").unwrap();
            l.list_push(b"l2", b"other").unwrap();
            l.list_push(b"l", b"1.2").unwrap();
        }))
        .unwrap();
    let round = call(6, "c", |l| l.list_push(b"l", b"6.0").unwrap())
        .merged(call(4, "cc", |l| l.list_push(b"l", b"elsewhere").unwrap()))
        .unwrap()
        .merged(call(3, "c", |l| {
            l.map_put(b"m", b"k", b"v").unwrap();
            l.list_push(b"l", b"3.1").unwrap();
        }))
        .unwrap();
    store.apply(&round).unwrap();
    store
        .apply(&call(8, "c", |l| l.list_push(b"l", b"8.0").unwrap()))
        .unwrap();
    store
}

const THREE_COMMITS: [&[u8]; 5] = [b"1.0", b"1.2", b"3.1", b"6.0", b"8.0"];

fn list_gets(store: &Store, canister: &str, name: &[u8], len: u64) -> Vec<Option<Vec<u8>>> {
    let reader = store.reader();
    (0..=len)
        .chain([u64::MAX])
        .map(|i| reader.list_get(canister, name, i).unwrap())
        .collect()
}

fn expected_gets(values: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
    let mut gets: Vec<_> = values.iter().map(|v| Some(v.to_vec())).collect();
    gets.extend([None, None]);
    gets
}

#[test]
fn list_positions_follow_seq_order_across_commits() {
    let store = three_commits();
    store.verify().unwrap();
    assert_eq!(
        positions(&store, "c", b"l"),
        [
            (0, (1, 0)),
            (1, (1, 2)),
            (2, (3, 1)),
            (3, (6, 0)),
            (4, (8, 0))
        ]
    );
    assert_eq!(positions(&store, "c", b"l2"), [(0, (1, 1))]);
    assert_eq!(positions(&store, "cc", b"l"), [(0, (4, 0))]);
    // First, middle, last, one past the end, far past it.
    assert_eq!(
        list_gets(&store, "c", b"l", 5),
        expected_gets(&THREE_COMMITS)
    );
    assert_eq!(
        list_gets(&store, "cc", b"l", 1),
        expected_gets(&[b"elsewhere"])
    );
    assert_eq!(list_gets(&store, "c", b"none", 0), expected_gets(&[]));
    // Position records are an index, not state: neither the dump nor the root sees them.
    assert_eq!(store.reader().entries("c").count(), 7);
    assert_eq!(store.reader().recompute_root().unwrap(), store.root());
}

#[test]
fn list_get_does_not_walk_from_the_start() {
    // With the first three elements gone, a walk would find "8.0" at position 1 and nothing
    // at 3; point reads through the position records still find the right ones.
    let store = three_commits();
    for (seq, index) in [(1, 0), (1, 2), (3, 1)] {
        let key = scoped("c", LIST, b"l", &list_element_key(seq, index));
        store.reader().poke(&key, None);
    }
    let reader = store.reader();
    assert_eq!(
        reader.list_get("c", b"l", 3).unwrap(),
        Some(b"6.0".to_vec())
    );
    assert_eq!(
        reader.list_get("c", b"l", 4).unwrap(),
        Some(b"8.0".to_vec())
    );
    assert_eq!(reader.list_get("c", b"l", 5).unwrap(), None);
}

#[test]
fn store_without_position_records_still_reads_its_lists() {
    // A store written before position records existed: the same, without them.
    let mut store = three_commits();
    for (canister, name) in [("c", &b"l"[..]), ("c", b"l2"), ("cc", b"l")] {
        for (pos, _) in positions(&store, canister, name) {
            let key = scoped(canister, LIST_POS, name, &pos.to_be_bytes());
            store.reader().poke(&key, None);
        }
    }
    store.verify().unwrap();
    assert_eq!(
        list_gets(&store, "c", b"l", 5),
        expected_gets(&THREE_COMMITS)
    );
    // New elements are indexed from the list's length on; the old ones are walked to.
    store
        .apply(&call(9, "c", |l| {
            l.list_push(b"l", b"9.0").unwrap();
            l.list_push(b"l", b"9.1").unwrap();
        }))
        .unwrap();
    store.verify().unwrap();
    assert_eq!(positions(&store, "c", b"l"), [(5, (9, 0)), (6, (9, 1))]);
    let mut all = THREE_COMMITS.to_vec();
    all.extend([&b"9.0"[..], b"9.1"]);
    assert_eq!(list_gets(&store, "c", b"l", 7), expected_gets(&all));
}

#[test]
fn verify_finds_bad_position_records() {
    let store = three_commits();
    let reader = store.reader();
    let pos = |canister, name, pos: u64| scoped(canister, LIST_POS, name, &pos.to_be_bytes());
    let at = |seq: u64, index: u32| list_element_key(seq, index).to_vec();
    // (record, what to put there or None to remove it, the error verify gives)
    let bad = [
        (
            pos("c", b"l", 2),
            Some(at(6, 0)),
            "position 2 names another element",
        ),
        (
            pos("c", b"l", 2),
            None,
            "position 2 has no record, but an earlier one has",
        ),
        (
            pos("c", b"l", 5),
            Some(at(8, 0)),
            "6 position records, but 5 in the list's range",
        ),
        (
            pos("c", b"x", 0),
            Some(at(1, 0)),
            "1 position records, but 0 in the list's range",
        ),
        (
            pos("c", b"l", 0),
            Some(vec![1]),
            "position 0 names another element",
        ),
    ];
    for (key, value, what) in bad {
        let old = reader.resident().get(&key).cloned();
        reader.poke(&key, value.as_deref());
        let err = store.verify().unwrap_err();
        assert!(err.to_string().ends_with(what), "{err}, wanted {what}");
        reader.poke(&key, old.as_deref());
        store.verify().unwrap();
    }
    // list_get trusts a record, but not one that names no element or is not 12 bytes.
    reader.poke(&pos("c", b"l", 0), Some(&at(2, 0)));
    let err = store.reader().list_get("c", b"l", 0).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("position names a missing element"),
        "{err}"
    );
    reader.poke(&pos("c", b"l", 0), Some(b"short"));
    let err = store.reader().list_get("c", b"l", 0).unwrap_err();
    assert!(
        err.to_string().ends_with("position record is not 12 bytes"),
        "{err}"
    );
}

#[test]
fn entries_are_per_canister_in_stable_order() {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "a", |l| {
            l.map_put(b"m", b"k", b"v").unwrap();
            l.list_push(b"l", b"x").unwrap();
            l.counter_add(b"n", b"k", 1).unwrap();
        }))
        .unwrap();
    // "ab" starts with "a": the length prefix keeps it out of "a"'s scan.
    store
        .apply(&call(2, "ab", |l| l.counter_add(b"n", b"", 1).unwrap()))
        .unwrap();
    let a: Vec<Entry> = store
        .reader()
        .entries("a")
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        a,
        [
            Entry::Counter {
                name: b"n".to_vec(),
                key: b"k".to_vec(),
                value: 1
            },
            Entry::List {
                name: b"l".to_vec(),
                seq: 1,
                index: 1,
                value: b"x".to_vec()
            },
            Entry::Map {
                name: b"m".to_vec(),
                key: b"k".to_vec(),
                value: b"v".to_vec()
            },
        ]
    );
    assert_eq!(store.reader().entries("ab").count(), 1);
    assert_eq!(store.reader().entries("b").count(), 0);
    assert_eq!(dump(&store).len(), 4);
}

#[test]
fn committed_seqs_are_refused() {
    let mut store = Store::temporary().unwrap();
    let delta = call(3, "c", |l| l.counter_add(b"n", b"", 1).unwrap());
    store.apply(&delta).unwrap();
    let root = store.root();
    let err = store.apply(&delta).unwrap_err();
    assert_eq!(
        err.to_string(),
        "seq 3 is already committed (last committed seq is 3); a round commits once"
    );
    // Any seq at or below the last is refused, even one never seen.
    assert!(matches!(
        store.apply(&call(2, "c", |_| {})),
        Err(StoreError::AlreadyCommitted { seq: 2, last: 3 })
    ));
    assert_eq!(store.reader().counter_get("c", b"n", b"").unwrap(), 1);
    assert_eq!((store.root(), store.last_seq()), (root, Some(3)));
}

#[test]
fn empty_delta_changes_nothing() {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "c", |l| l.list_push(b"l", b"v").unwrap()))
        .unwrap();
    let root = store.root();
    assert_eq!(store.apply(&Delta::new()).unwrap(), root);
    assert_eq!(store.last_seq(), Some(1));
}

#[test]
fn stale_commit_is_refused_and_writes_nothing() {
    let mut store = Store::temporary().unwrap();
    let first = store
        .prepare(&call(1, "c", |l| l.counter_add(b"n", b"", 1).unwrap()))
        .unwrap();
    let rival = store
        .prepare(&call(2, "c", |l| l.counter_add(b"n", b"", 10).unwrap()))
        .unwrap();
    store.commit(first).unwrap();
    let err = store.commit(rival).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stale commit: prepared after the store's commit 0, but it has made 1"
    );
    assert_eq!(store.reader().counter_get("c", b"n", b"").unwrap(), 1);
    store.verify().unwrap();
}

#[test]
fn commit_takes_foreign_writes_but_not_own_keys() {
    let mut store = Store::temporary().unwrap();
    let mut commit = store
        .prepare(&call(1, "c", |l| l.list_push(b"l", b"v").unwrap()))
        .unwrap();
    for own in [
        &b"s"[..],
        b"sanything",
        area::META_LATTICE,
        area::META_LAST_SEQ,
        b"m",
    ] {
        let err = commit.insert(own, b"x").unwrap_err();
        assert!(matches!(err, StoreError::OwnKey { .. }), "{err}");
        assert!(commit.remove(own).is_err());
    }
    assert_eq!(
        commit.insert(b"s1", b"").unwrap_err().to_string(),
        "key 7331 is in the store's own area; extra batch writes go under i, o, q or mr"
    );
    commit.insert(b"q\x00\x01", b"").unwrap();
    commit.insert(b"mround", b"record").unwrap();
    let root = commit.root();
    assert_eq!(store.commit(commit).unwrap(), root);
    let tree = store.reader().tree();
    assert_eq!(
        tree.get(b"mround").unwrap().as_deref(),
        Some(&b"record"[..])
    );
    assert!(tree.get(b"q\x00\x01").unwrap().is_some());
    store.verify().unwrap();
}

#[test]
fn state_root_and_last_seq_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let root = {
        let db = sled::open(dir.path()).unwrap();
        let mut store = Store::init(&db).unwrap();
        store
            .apply(&call(7, "c", |l| {
                l.counter_add(b"n", b"", 2).unwrap();
                l.map_put(b"m", b"k", b"v").unwrap();
                l.list_push(b"l", b"x").unwrap();
            }))
            .unwrap();
        store.flush().unwrap();
        store.root()
    };
    let db = sled::open(dir.path()).unwrap();
    let mut store = Store::init(&db).unwrap();
    assert_eq!((store.root(), store.last_seq()), (root, Some(7)));
    assert_eq!(store.reader().recompute_root().unwrap(), root);
    assert!(store.apply(&call(7, "c", |_| {})).is_err());
    assert_eq!(store.reader().list_len("c", b"l").unwrap(), 1);
}

#[test]
fn verify_finds_corruption() {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "c", |l| l.list_push(b"l", b"v").unwrap()))
        .unwrap();
    let reader = store.reader();
    reader.poke(&scoped("c", LIST_LEN, b"l", b""), Some(&5u64.to_be_bytes()));
    assert!(matches!(store.verify(), Err(StoreError::Corrupt { .. })));
    reader.poke(&scoped("c", LIST_LEN, b"l", b""), Some(&1u64.to_be_bytes()));
    store.verify().unwrap();
    reader.poke(&scoped("c", MAP, b"m", b"k"), Some(b"sneaked in"));
    let err = store.verify().unwrap_err();
    assert!(err.to_string().contains("lattice differs"), "{err}");
}

#[test]
fn bad_counter_record_is_reported_with_its_key() {
    let store = Store::temporary().unwrap();
    let key = scoped("c", COUNTER, b"n", b"");
    store.reader().poke(&key, Some(b"short"));
    let err = store.reader().counter_get("c", b"n", b"").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "corrupt store at key {}: counter is not 16 bytes",
            hex(&key)
        )
    );
}

/// A store that committed a counter add as seq 1, then journaled seq 2 (another add and a
/// list push) without settling it; and the root seq 2 gives.
fn journaled_not_settled() -> (Store, Root) {
    let mut store = Store::temporary().unwrap();
    store
        .apply(&call(1, "c", |l| l.counter_add(b"n", b"", 1).unwrap()))
        .unwrap();
    let commit = store
        .prepare(&call(2, "c", |l| {
            l.counter_add(b"n", b"", 2).unwrap();
            l.list_push(b"l", b"x").unwrap();
        }))
        .unwrap();
    let root = store.journal(commit).unwrap();
    (store, root)
}

/// While a settle waits for its flush, the journal's state writes have landed in the
/// resident state, but no reader can get at them until the flush has ended (J2).
#[test]
fn a_settle_excludes_readers_until_its_flush_ends() {
    let (mut store, _) = journaled_not_settled();
    let reader = store.reader().clone();
    let flusher = store.flusher();
    let mut waited = false;
    store
        .settle_with(|| {
            waited = true;
            assert!(
                reader.gate.try_read().is_err(),
                "a read got in during the flush"
            );
            flusher.flush()
        })
        .unwrap();
    assert!(waited);
    assert_eq!(reader.counter_get("c", b"n", b"").unwrap(), 3);
}

/// A flush that panics (a bug) leaves no write of its round readable either, and the store
/// broken.
#[test]
fn a_panicking_flush_leaves_the_state_as_before_and_the_store_broken() {
    let (mut store, _) = journaled_not_settled();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.settle_with(|| panic!("the flush thread died"))
    }));
    assert!(panicked.is_err());
    assert_eq!(store.reader().counter_get("c", b"n", b"").unwrap(), 1);
    assert_eq!(store.reader().list_len("c", b"l").unwrap(), 0);
    let refused = store
        .apply(&call(3, "c", |l| l.counter_add(b"n", b"", 4).unwrap()))
        .unwrap_err();
    assert!(
        refused.to_string().contains("a flush panicked"),
        "{refused}"
    );
}

/// A failed flush (a full disk, say) breaks the store: it refuses every later commit with
/// an error that says so, and reopening replays the journal to the root the commit gave,
/// with nothing torn (store journal J1–J3).
#[test]
fn a_failed_flush_breaks_the_store_and_reopening_replays_the_journal() {
    let (mut store, root) = journaled_not_settled();
    let db = store.db().clone();
    let full = std::io::Error::other("No space left on device");
    // The flush fails after the round's writes landed in memory: they come back out.
    let err = store
        .settle_with(|| Err(StoreError::Sled(full.into())))
        .unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    // Not applied, or taken back out: reads see the first commit's state.
    assert_eq!(store.reader().counter_get("c", b"n", b"").unwrap(), 1);
    assert_eq!(store.reader().list_len("c", b"l").unwrap(), 0);
    assert_eq!(store.reader().list_get("c", b"l", 0).unwrap(), None);
    let refused = store
        .apply(&call(3, "c", |l| l.counter_add(b"n", b"", 4).unwrap()))
        .unwrap_err();
    assert!(matches!(refused, StoreError::Broken(_)), "{refused}");
    assert!(refused.to_string().contains("restart"), "{refused}");

    let mut reopened = Store::init(&db).unwrap();
    assert_eq!((reopened.root(), reopened.last_seq()), (root, Some(2)));
    assert_eq!(reopened.reader().counter_get("c", b"n", b"").unwrap(), 3);
    assert_eq!(reopened.reader().list_len("c", b"l").unwrap(), 1);
    reopened.verify().unwrap();
    // The journals stay until a checkpoint holds them (checkpoint K2).
    assert_eq!(
        journal::left(&db.open_tree("commute-journal").unwrap())
            .unwrap()
            .whole
            .len(),
        2
    );
    reopened.checkpoint().unwrap();
    assert_eq!(
        journal::left(&db.open_tree("commute-journal").unwrap())
            .unwrap()
            .whole
            .len(),
        0
    );
    let again = Store::init(&db).unwrap();
    assert_eq!((again.root(), again.last_seq()), (root, Some(2)));
    again.verify().unwrap();
}

/// A store after three commits of a counter add and a map put each, whose journals are
/// left for an open to replay, and its database.
fn three_journaled() -> (Store, sled::Db) {
    let mut store = Store::temporary().unwrap();
    let db = store.db().clone();
    for seq in 1..=3 {
        store
            .apply(&call(seq, "c", |l| {
                l.counter_add(b"n", b"", 1).unwrap();
                l.map_put(b"m", b"k", &seq.to_be_bytes()).unwrap();
            }))
            .unwrap();
    }
    (store, db)
}

/// Replaying at open a journal that was already applied changes nothing (journal J1).
#[test]
fn reopening_after_an_applied_journal_changes_nothing() {
    let (store, db) = three_journaled();
    let root = store.root();
    assert!(
        !journal::left(&db.open_tree("commute-journal").unwrap())
            .unwrap()
            .whole
            .is_empty(),
        "the last stays until a later flush"
    );
    let reopened = Store::init(&db).unwrap();
    assert_eq!(reopened.root(), root);
    assert_eq!(reopened.reader().counter_get("c", b"n", b"").unwrap(), 3);
    reopened.verify().unwrap();
}

/// Journals written before the prefixed layout, with whole keys, replay at open to the
/// same state and root.
#[test]
fn journals_with_whole_keys_replay_as_before() {
    let (store, db) = three_journaled();
    let root = store.root();
    let tree = db.open_tree("commute-journal").unwrap();
    let mut rewritten = 0;
    for item in tree.iter() {
        let (key, value) = item.unwrap();
        let mut whole = Vec::new();
        for (k, v) in journal::decode(&key, &value).unwrap() {
            journal::push(&mut whole, &k, v.as_deref());
        }
        assert_ne!(&whole[..], &value[..], "written in the prefixed layout");
        tree.insert(key, whole).unwrap();
        rewritten += 1;
    }
    assert!(rewritten > 0, "a journal is left to replay");
    let reopened = Store::init(&db).unwrap();
    assert_eq!(reopened.root(), root);
    assert_eq!(reopened.reader().counter_get("c", b"n", b"").unwrap(), 3);
    reopened.verify().unwrap();
}

/// A data dir written before the state moved to memory keeps its state as records per key,
/// its journals and its installed canisters all in the main tree. It opens to the same
/// state and root, its journals and installs move to trees of their own, and its first
/// checkpoint moves the state into chunks, after which it reopens the same.
#[test]
fn a_store_with_its_state_in_the_main_tree_opens_unchanged() {
    let mut old = three_commits();
    old.apply(&call(9, "c", |l| l.counter_add(b"n", b"k", 2).unwrap()))
        .unwrap();
    let (root, entries) = (old.root(), dump(&old));
    let db = sled::Config::new().temporary(true).open().unwrap();
    let main = db.open_tree("commute").unwrap();
    for (key, value) in old.reader().resident().iter() {
        main.insert(key, value.clone()).unwrap();
    }
    for item in old.reader().tree().iter().chain(old.trees.journal.iter()) {
        let (key, value) = item.unwrap();
        main.insert(key, value).unwrap();
    }
    main.insert(b"iweb", &b"a module"[..]).unwrap();
    assert!(
        main.scan_prefix(b"mj").count() > 0,
        "journals left to replay"
    );

    let mut store = Store::init(&db).unwrap();
    assert_eq!((store.root(), dump(&store)), (root, entries.clone()));
    store.verify().unwrap();
    assert_eq!(
        store.installed().get(b"iweb").unwrap().as_deref(),
        Some(&b"a module"[..])
    );
    assert_eq!(
        main.scan_prefix(b"mj").count() + main.scan_prefix(b"i").count(),
        0
    );
    store.checkpoint().unwrap();
    assert_eq!(
        main.scan_prefix(b"s").count(),
        0,
        "the state is in the checkpoint"
    );
    drop(store);
    let store = Store::init(&db).unwrap();
    assert_eq!((store.root(), dump(&store)), (root, entries));
    store.verify().unwrap();
}

/// checkpoint K1, K2 with a state of many chunks: reopened from them alone, the store holds
/// the same entries under the same root.
#[test]
fn a_checkpoint_of_many_chunks_reopens_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let mut store = Store::init(&db).unwrap();
    let value = vec![3u8; 2 << 10];
    for seq in 1..=300u64 {
        let delta = call(seq, "c", |l| {
            l.list_push(b"l", &value).unwrap();
            l.map_put(b"m", &seq.to_be_bytes(), &value).unwrap();
        });
        store.apply(&delta).unwrap();
    }
    let (root, entries) = (store.root(), dump(&store));
    store.checkpoint().unwrap();
    let chunks = store.trees.checkpoint.scan_prefix(b"mc").count();
    assert!(chunks > 4, "the state is in {chunks} chunks");
    assert_eq!(store.trees.journal.len(), 0, "no journal left to replay");
    drop(store);
    let store = Store::init(&db).unwrap();
    assert_eq!((store.root(), dump(&store)), (root, entries));
    store.verify().unwrap();
}

/// disk D1 through the store: a round's journal and a checkpoint's chunks over sled's
/// blob threshold (128 KiB) are files of their own, each synced before the commit or the
/// checkpoint returns; a store that cannot tell its directory syncs none.
#[test]
fn journals_and_checkpoints_over_sleds_blob_threshold_are_synced_before_they_return() {
    use crate::disk::Disk;
    let blob_files = Disk::blob_files;
    let (dir, db, disk) = Disk::temporary();
    let mut store = Store::init_with(&db, Some(disk.clone()), Arc::default()).unwrap();
    let big = vec![7u8; 300 << 10];
    store
        .apply(&call(1, "c", |l| l.list_push(b"l", &big).unwrap()))
        .unwrap();
    assert_eq!(
        (blob_files(dir.path()), disk.synced()),
        (1, 1),
        "the journal"
    );
    store.checkpoint().unwrap();
    let files = blob_files(dir.path());
    assert!(
        files >= 2,
        "the checkpoint's chunk is a blob too: {files} files"
    );
    assert_eq!(disk.synced(), files);

    let other = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(other.path()).open().unwrap();
    let mut unsynced = Store::init(&db).unwrap();
    unsynced
        .apply(&call(1, "c", |l| l.list_push(b"l", &big).unwrap()))
        .unwrap();
    assert_eq!(blob_files(other.path()), 1);
}

/// journal J5 through the store: a round whose journal was cut short before its flush (a
/// crash between its parts) is dropped at open, and the round, run again, takes its id.
#[test]
fn a_journal_torn_before_its_flush_is_dropped_at_open_and_its_round_lands_again() {
    let mut store = Store::temporary().unwrap();
    let db = store.db().clone();
    store
        .apply(&call(1, "c", |l| l.counter_add(b"n", b"", 1).unwrap()))
        .unwrap();
    let root = store.root();
    let big = vec![9u8; journal::PART_BYTES];
    let round = call(2, "c", |l| {
        l.list_push(b"l", &big).unwrap();
        l.list_push(b"l", &big).unwrap();
    });
    // What a crash between the parts of the next journal leaves: its first part alone.
    let commit = store.prepare(&round).unwrap();
    let parts = journal::encode_parts(&commit.batch.0, journal::PART_BYTES);
    assert!(parts.len() > 1, "{} parts", parts.len());
    let count = u32::try_from(parts.len()).unwrap();
    let journals = db.open_tree("commute-journal").unwrap();
    journals
        .insert(journal::key(store.next_journal, 0, count), &parts[0][..])
        .unwrap();
    drop(store);

    let mut reopened = Store::init(&db).unwrap();
    assert_eq!((reopened.root(), reopened.last_seq()), (root, Some(1)));
    let left = journal::left(&journals).unwrap();
    assert_eq!((left.whole.len(), left.torn.len()), (1, 0));
    let landed = reopened.apply(&round).unwrap();
    assert_eq!(reopened.reader().list_len("c", b"l").unwrap(), 2);
    let again = Store::init(&db).unwrap();
    assert_eq!(again.root(), landed);
    again.verify().unwrap();
}

quickcheck::quickcheck! {
    /// Rounds that commit calls ahead of the watermark, in any order, with reopenings in
    /// between (a journal journaled but not settled, as a kill leaves it, among them):
    /// the store's finished calls are the model's, in memory, as its reader reads them,
    /// and after every reopening; a finished seq is never committed again.
    fn prop_finished_calls_survive_rounds_and_reopenings(rounds: Vec<(Vec<u8>, u8)>) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let mut model = std::collections::BTreeSet::new();
        // Reopened as a store over the same database: its recovery (the journals' replay,
        // the meta records) is what is checked; sled's files across processes are the
        // crash test's.
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let mut store = Store::init(&db).unwrap();
        for (seqs, reopen) in rounds.iter().take(12) {
            let seqs: std::collections::BTreeSet<u64> = seqs
                .iter()
                .map(|s| 1 + u64::from(s % 40))
                .filter(|s| !model.contains(s))
                .collect();
            let seqs: Vec<u64> = seqs.into_iter().collect();
            let mut delta = Delta::new();
            for seq in &seqs {
                // Counters: what commits ahead here is no canister's prefix (the rounds'
                // rule), so the writes must not care about order.
                let mut log = WriteLog::default();
                log.counter_add(b"n", &seq.to_be_bytes()[7..], 1).unwrap();
                delta.add_call(*seq, &format!("c{}", seq % 3), &log).unwrap();
            }
            let commit = store.prepare_round(&delta, &seqs).unwrap();
            model.extend(seqs.iter().copied());
            if reopen % 3 == 1 {
                // Journaled, then the process dies before its flush returns.
                store.journal(commit).unwrap();
                store.flusher().flush().unwrap();
            } else {
                store.commit(commit).unwrap();
            }
            let expected = {
                let mut f = Finished::default();
                f.finish(model.iter().copied());
                f
            };
            if reopen % 3 != 1 && (store.finished() != &expected
                || store.reader().finished().unwrap() != expected)
            {
                return false;
            }
            if reopen % 3 != 0 {
                drop(store);
                store = Store::init(&db).unwrap();
                if store.finished() != &expected {
                    return false;
                }
            }
            if let Some(seq) = model.iter().next() {
                let again = store.prepare_round(&Delta::new(), &[*seq]);
                if !matches!(again, Err(StoreError::AlreadyCommitted { .. })) {
                    return false;
                }
            }
        }
        store.verify().is_ok()
    }
}
