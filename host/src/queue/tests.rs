use super::*;
use crate::store::check_golden;
use quickcheck::quickcheck;

fn call(method: &str) -> QueuedCall {
    QueuedCall {
        canister: "logger".into(),
        method: method.into(),
        kind: CallKind::Pure,
        caller: ByteBuf::from(vec![4]),
        arg: ByteBuf::from(b"DIDL\0\0".to_vec()),
        keys: vec![ByteBuf::from(b"k".to_vec())],
        time: 1_700_000_000_000_000_000,
    }
}

fn tree() -> sled::Tree {
    sled::Config::new()
        .temporary(true)
        .open()
        .unwrap()
        .open_tree("t")
        .unwrap()
}

fn put(t: &sled::Tree, first: u64, calls: &[QueuedCall]) {
    for (k, v) in records(first, calls) {
        t.insert(k, v).unwrap();
    }
}

#[test]
fn chunks_round_trip_and_the_encoding_is_pinned() {
    let calls = vec![call("log"), call("audit")];
    let t = tree();
    put(&t, 7, &calls);
    let read: Vec<Chunk> = chunks(&t, 0).map(Result::unwrap).collect();
    assert_eq!(read, vec![Chunk { first: 7, calls }]);
    let (k, bytes) = t.first().unwrap().unwrap();
    assert_eq!(&k[..], &key(7)[..]);
    check_golden(
        "src/queue/record.golden",
        &format!("{}\n", hex::encode(&bytes)),
    );
}

#[test]
fn corrupt_and_empty_chunks_name_their_first_seq() {
    let t = tree();
    t.insert(key(9), b"junk").unwrap();
    let err = chunks(&t, 0).next().unwrap().unwrap_err();
    assert!(
        err.to_string().starts_with("queue entry 9 is corrupt"),
        "{err}"
    );
    let t = tree();
    t.insert(key(4), postcard::to_allocvec::<[QueuedCall]>(&[]).unwrap())
        .unwrap();
    let err = chunks(&t, 0).next().unwrap().unwrap_err();
    assert!(
        err.to_string()
            .contains("queue entry 4 is corrupt: an empty chunk"),
        "{err}"
    );
}

#[test]
fn no_more_bytes_are_kept_than_the_cap_and_a_read_leaves_what_is_past_its_bound() {
    let t = tree();
    let tail = Tail::open(t.clone(), &Finished::default()).unwrap();
    let mut large = call("log");
    large.arg = ByteBuf::from(vec![7; 1 << 20]);
    // Each a chunk of its own (over CHUNK_BYTES), 40 MiB in all.
    tail.append(vec![large; 40], u64::MAX).unwrap();
    let (kept, bytes) = (tail.fresh().calls(), tail.fresh().bytes());
    assert!(
        bytes <= FRESH_BYTES && kept < 40 && kept > 25,
        "{kept} calls, {bytes} bytes"
    );
    assert!(tail.fresh().holds(1) && !tail.fresh().holds(40));
    // A read bounded at seq 5 takes chunks 1-4 from the kept ones, and leaves 5 on.
    let read: Vec<Chunk> = chunks_with(&t, 0, Some((tail.fresh(), 5)))
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, chunks(&t, 0).map(Result::unwrap).collect::<Vec<_>>());
    assert!((1..5).all(|s| !tail.fresh().holds(s)));
    assert!((5..=kept as u64).all(|s| tail.fresh().holds(s)));
}

quickcheck! {
    /// Any calls queued from any seq read back as they went in, in chunks none of which is
    /// empty or over the cap.
    fn prop_records_split_calls_into_small_chunks_that_read_back_in_seq_order(
        first: u32,
        count: u16
    ) -> bool {
        let (first, count) = (u64::from(first) + 1, usize::from(count) % 3000);
        let calls: Vec<QueuedCall> = (0..count).map(|i| call(&format!("m{i}"))).collect();
        let t = tree();
        put(&t, first, &calls);
        let read: Vec<Chunk> = chunks(&t, 0).map(Result::unwrap).collect();
        let back: Vec<(u64, QueuedCall)> = pending(&t, Finished::default()).map(Result::unwrap).collect();
        let end = first + count as u64;
        read.iter().all(|c| !c.calls.is_empty() && c.calls.len() <= CHUNK_CALLS)
            && read.len() == count.div_ceil(CHUNK_CALLS)
            && back == (first..).zip(calls).collect::<Vec<_>>()
            // `contains` and `next_seq` read a chunk's end from its length prefix alone.
            && [first, first + count as u64 / 2, end.saturating_sub(1).max(first)]
                .iter()
                .all(|&s| contains(&t, s, 0).unwrap() == (s < end))
            && !contains(&t, end, 0).unwrap()
            && next_seq(&t, None).unwrap() == if count == 0 { 1 } else { end }
    }
}

#[test]
fn pending_skips_what_is_committed_and_next_seq_follows_invariant_a() {
    let t = tree();
    assert_eq!(next_seq(&t, None).unwrap(), 1);
    assert_eq!(next_seq(&t, Some(41)).unwrap(), 42);
    put(&t, 300, &[call("a"), call("b")]);
    put(&t, 2, &[call("c"), call("d"), call("e")]);
    put(&t, 256, &[call("f")]);
    let seqs = |committed| -> Vec<u64> {
        pending(&t, Finished::through(committed))
            .map(|r| r.unwrap().0)
            .collect()
    };
    assert_eq!(
        seqs(0),
        vec![2, 3, 4, 256, 300, 301],
        "byte order of BE keys is seq order"
    );
    assert_eq!(
        seqs(3),
        vec![4, 256, 300, 301],
        "a chunk's committed calls are done"
    );
    assert_eq!(next_seq(&t, Some(41)).unwrap(), 302);
    // Chunks wholly at or below `after` are not read; the one holding `after + 1` is.
    let firsts = |after| -> Vec<u64> { chunks(&t, after).map(|c| c.unwrap().first).collect() };
    assert_eq!(firsts(0), [2, 256, 300]);
    assert_eq!(firsts(3), [2, 256, 300], "4 is in the chunk from 2");
    assert_eq!(
        firsts(4),
        [2, 256, 300],
        "the chunk at or below 5 is read, and skipped"
    );
    assert_eq!(firsts(256), [256, 300]);
    assert_eq!(firsts(299), [300], "300 starts a chunk");
    assert_eq!(firsts(300), [300]);
    assert_eq!(firsts(u64::MAX), [300]);
    assert_eq!(next_seq(&t, Some(500)).unwrap(), 501);
    assert!(contains(&t, 256, 0).unwrap());
    assert!(contains(&t, 3, 0).unwrap());
    assert!(!contains(&t, 3, 3).unwrap(), "committed");
    assert!(!contains(&t, 5, 0).unwrap(), "between chunks");
    assert!(!contains(&t, 302, 0).unwrap(), "past the last");
    assert!(!contains(&t, 1, 0).unwrap(), "before the first");
    // Other areas do not leak into the queue.
    t.insert(b"r", b"x").unwrap();
    t.insert(b"p\xff", b"x").unwrap();
    assert_eq!(pending(&t, Finished::default()).count(), 6);
}

#[test]
fn a_tail_shared_by_threads_hands_out_every_seq_once_and_readers_see_no_gap() {
    let tree = tree();
    let tail = Tail::open(tree.clone(), &Finished::default()).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let seqs: Vec<u64> = std::thread::scope(|s| {
        // Invariant C: whatever prefix of the queue a reader sees is gap-free from 1.
        let reader = s.spawn(|| {
            let mut scans = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) || scans == 0 {
                let bound = tail.next_seq();
                let seen: Vec<u64> = pending(&tree, Finished::default())
                    .map(|r| r.unwrap().0)
                    .take_while(|&seq| seq < bound)
                    .collect();
                assert_eq!(seen.len() as u64, bound - 1);
                assert!(seen.iter().copied().eq(1..=seen.len() as u64), "{seen:?}");
                scans += 1;
            }
        });
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let tail = tail.clone();
                s.spawn(move || {
                    (0..100)
                        .flat_map(|i| tail.append(vec![call("log"); 1 + i % 3], u64::MAX).unwrap())
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let seqs = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        done.store(true, std::sync::atomic::Ordering::Release);
        reader.join().unwrap();
        seqs
    });
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(tail.pending(), seqs.len() as u64);
    tail.set_finished(&Finished::through(10));
    assert_eq!(tail.pending(), seqs.len() as u64 - 10);
    assert_eq!(tail.next_seq(), seqs.len() as u64 + 1);
    let full = tail.append(vec![call("log")], tail.pending()).unwrap_err();
    assert!(matches!(full, QueueError::Full { .. }), "{full}");
    assert_eq!(
        tail.next_seq(),
        seqs.len() as u64 + 1,
        "a refused append uses no seq"
    );
    // Reopening finds the same next seq from the queue alone (invariant A).
    assert_eq!(
        Tail::open(tree, &Finished::through(10)).unwrap().next_seq(),
        tail.next_seq()
    );
}

#[test]
fn an_idempotency_key_names_one_call_once() {
    let tree = tree();
    let tail = Tail::open(tree.clone(), &Finished::default()).unwrap();
    let first = call("log");
    assert_eq!(tail.append_once(&first, b"k1", 10).unwrap(), Once::New(1));
    // A retry: the same call, accepted at another time, gets the same seq, queues nothing.
    let retry = QueuedCall {
        time: first.time + 5,
        ..first.clone()
    };
    assert_eq!(
        tail.append_once(&retry, b"k1", 10).unwrap(),
        Once::Existing(1)
    );
    assert_eq!(tail.next_seq(), 2);
    assert_eq!(pending(&tree, Finished::default()).count(), 1);
    // Another call under the same key is refused, naming the seq the key holds.
    let other = call("other");
    let reused = tail.append_once(&other, b"k1", 10).unwrap_err();
    assert!(
        matches!(reused, QueueError::KeyReused { seq: 1 }),
        "{reused}"
    );
    // Other keys are independent, and the cap holds for keyed calls too.
    assert_eq!(tail.append_once(&other, b"k2", 10).unwrap(), Once::New(2));
    let full = tail.append_once(&other, b"k3", 2).unwrap_err();
    assert!(matches!(full, QueueError::Full { .. }), "{full}");
    // The key is in the store, not the process: a reopened tail still knows it.
    let reopened = Tail::open(tree, &Finished::default()).unwrap();
    assert_eq!(
        reopened.append_once(&retry, b"k1", 10).unwrap(),
        Once::Existing(1)
    );
}

#[test]
fn chunks_are_cut_at_about_chunk_bytes_and_a_bigger_call_is_one_alone() {
    let big = |bytes: usize| QueuedCall {
        arg: ByteBuf::from(vec![7; bytes]),
        ..call("big")
    };
    let tenth = CHUNK_BYTES / 10;
    let calls = vec![
        big(4 * tenth),
        big(4 * tenth),
        big(4 * tenth),
        big(30 * tenth),
        big(1),
        big(1),
    ];
    let t = tree();
    put(&t, 1, &calls);
    let sizes: Vec<(u64, usize)> = chunks(&t, 0)
        .map(|c| c.unwrap())
        .map(|c| (c.first, c.calls.len()))
        .collect();
    assert_eq!(sizes, [(1, 2), (3, 1), (4, 1), (5, 2)]);
    let back: Vec<QueuedCall> = pending(&t, Finished::default())
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(back, calls);
}

/// disk D1 through the queue: a chunk over sled's blob threshold (a large argument) is a
/// file of its own, synced by the flush that makes the call accepted.
#[test]
fn a_queue_chunk_over_sleds_blob_threshold_is_synced_by_the_flush() {
    let (dir, db, disk) = crate::disk::Disk::temporary();
    let tail = Tail::open(db.open_tree("t").unwrap(), &Finished::default())
        .unwrap()
        .syncing(Some(disk.clone()));
    let large = QueuedCall {
        arg: ByteBuf::from(vec![0u8; 300 << 10]),
        ..call("log")
    };
    tail.append(vec![large], 10).unwrap();
    tail.flush().unwrap();
    let files = crate::disk::Disk::blob_files(dir.path());
    assert_eq!((files, disk.synced()), (1, 1));
}

#[test]
fn no_more_calls_are_kept_than_the_cap_and_the_rest_are_read_from_the_store() {
    let t = tree();
    let tail = Tail::open(t.clone(), &Finished::default()).unwrap();
    let calls = FRESH_CALLS + 3 * CHUNK_CALLS;
    tail.append(vec![call("log"); calls], u64::MAX).unwrap();
    let kept = tail.fresh().calls();
    assert!(
        kept <= FRESH_CALLS && kept > FRESH_CALLS - CHUNK_CALLS,
        "{kept} kept"
    );
    assert!(
        tail.fresh().holds(1),
        "the first chunks are kept, the last are not"
    );
    assert!(!tail
        .fresh()
        .holds(chunks(&t, 0).last().unwrap().unwrap().first));
    let stored: Vec<Chunk> = chunks(&t, 0).map(Result::unwrap).collect();
    let read: Vec<Chunk> = chunks_with(&t, 0, Some((tail.fresh(), u64::MAX)))
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, stored);
    assert_eq!(
        tail.fresh().calls(),
        0,
        "read once, kept no more (fresh F2)"
    );
}

quickcheck! {
    /// A read that takes chunks from the fresh ones gets what a read of the store gets
    /// (fresh F1), from any point, however much of the queue each read takes; and a chunk
    /// is handed out of them once at most (F2).
    fn prop_fresh_chunks_are_the_stored_ones(steps: Vec<(u8, u8, u8)>) -> bool {
        let t = tree();
        let tail = Tail::open(t.clone(), &Finished::default()).unwrap();
        let mut ok = true;
        for (i, &(n, from, taking)) in steps.iter().take(30).enumerate() {
            let calls = (0..usize::from(n) % 150 + 1).map(|c| call(&format!("s{i}c{c}"))).collect();
            tail.append(calls, u64::MAX).unwrap();
            let after = u64::from(from) * tail.next_seq() / 256;
            let stored: Vec<Chunk> = chunks(&t, after).map(Result::unwrap).collect();
            let read: Vec<Chunk> = chunks_with(&t, after, Some((tail.fresh(), u64::MAX)))
                .take(usize::from(taking) % 8)
                .map(Result::unwrap)
                .collect();
            ok &= stored.starts_with(&read);
            // What a read took is not kept any more.
            ok &= read.iter().all(|c| tail.fresh().take(c.first).is_none());
        }
        let stored: Vec<Chunk> = chunks(&t, 0).map(Result::unwrap).collect();
        let read: Vec<Chunk> = chunks_with(&t, 0, Some((tail.fresh(), u64::MAX))).map(Result::unwrap).collect();
        ok && read == stored && tail.fresh().calls() == 0
    }

    /// Requests appended together get what appending each in turn would give: the same
    /// seqs, the same refusals under the cap, and the same calls read back; and they take
    /// no more chunks than their calls need.
    fn prop_append_each_is_append_in_turn_in_fewer_chunks(sizes: Vec<u8>, cap: u16) -> bool {
        let requests: Vec<Vec<QueuedCall>> = sizes
            .iter()
            .take(40)
            .enumerate()
            .map(|(r, &n)| (0..usize::from(n) % 20).map(|i| call(&format!("r{r}c{i}"))).collect())
            .collect();
        let cap = u64::from(cap) % 300;

        let (together, alone) = (tree(), tree());
        let t = Tail::open(together.clone(), &Finished::default()).unwrap();
        let a = Tail::open(alone.clone(), &Finished::default()).unwrap();
        let answers = |r: Vec<Result<Range<u64>, QueueError>>| -> Vec<Option<Range<u64>>> {
            r.into_iter().map(|a| a.map_err(|e| assert!(matches!(e, QueueError::Full { .. }))).ok()).collect()
        };
        let got = answers(t.append_each(requests.clone(), cap));
        let want = answers(requests.into_iter().map(|r| a.append(r, cap)).collect());
        let back = |tree: &sled::Tree| -> Vec<(u64, QueuedCall)> {
            pending(tree, Finished::default()).map(Result::unwrap).collect()
        };
        let accepted: usize = got.iter().flatten().map(|r| r.clone().count()).sum();
        got == want
            && back(&together) == back(&alone)
            && t.next_seq() == a.next_seq()
            && chunks(&together, 0).count() == accepted.div_ceil(CHUNK_CALLS)
    }
}
