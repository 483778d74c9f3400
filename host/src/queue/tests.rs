use super::*;
use crate::store::check_golden;

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

#[test]
fn records_round_trip_and_the_encoding_is_pinned() {
    let c = call("log");
    let bytes = c.encode();
    assert_eq!(QueuedCall::decode(7, &bytes).unwrap(), c);
    check_golden(
        "src/queue/record.golden",
        &format!("{}\n", hex::encode(&bytes)),
    );
}

#[test]
fn corrupt_records_name_their_seq() {
    let err = QueuedCall::decode(9, b"junk").unwrap_err();
    assert!(
        err.to_string().starts_with("queue entry 9 is corrupt"),
        "{err}"
    );
}

#[test]
fn pending_iterates_in_seq_order_and_next_seq_follows_invariant_a() {
    let t = tree();
    assert_eq!(next_seq(&t, None).unwrap(), 1);
    assert_eq!(next_seq(&t, Some(41)).unwrap(), 42);
    for seq in [300u64, 2, 256] {
        t.insert(key(seq), call(&format!("m{seq}")).encode())
            .unwrap();
    }
    let seqs: Vec<u64> = pending(&t).map(|r| r.unwrap().0).collect();
    assert_eq!(
        seqs,
        vec![2, 256, 300],
        "byte order of BE keys is seq order"
    );
    assert_eq!(next_seq(&t, Some(41)).unwrap(), 301);
    assert_eq!(next_seq(&t, Some(500)).unwrap(), 501);
    assert!(contains(&t, 256).unwrap());
    assert!(!contains(&t, 3).unwrap());
    // Other areas do not leak into the queue.
    t.insert(b"r", b"x").unwrap();
    t.insert(b"p\xff", b"x").unwrap();
    assert_eq!(pending(&t).count(), 3);
}

#[test]
fn a_tail_shared_by_threads_hands_out_every_seq_once_and_readers_see_no_gap() {
    let tree = tree();
    let tail = Tail::open(tree.clone(), None).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let seqs: Vec<u64> = std::thread::scope(|s| {
        // Invariant C: whatever prefix of the queue a reader sees is gap-free from 1.
        let reader = s.spawn(|| {
            let mut scans = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) || scans == 0 {
                let bound = tail.next_seq();
                let seen: Vec<u64> = pending(&tree)
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
                        .flat_map(|i| {
                            tail.append(&vec![call("log"); 1 + i % 3], u64::MAX)
                                .unwrap()
                        })
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
    tail.set_committed(10);
    assert_eq!(tail.pending(), seqs.len() as u64 - 10);
    assert_eq!(tail.next_seq(), seqs.len() as u64 + 1);
    let full = tail.append(&[call("log")], tail.pending()).unwrap_err();
    assert!(matches!(full, QueueError::Full { .. }), "{full}");
    assert_eq!(
        tail.next_seq(),
        seqs.len() as u64 + 1,
        "a refused append uses no seq"
    );
    // Reopening finds the same next seq from the queue alone (invariant A).
    assert_eq!(
        Tail::open(tree, Some(10)).unwrap().next_seq(),
        tail.next_seq()
    );
}

#[test]
fn an_idempotency_key_names_one_call_once() {
    let tree = tree();
    let tail = Tail::open(tree.clone(), None).unwrap();
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
    assert_eq!(pending(&tree).count(), 1);
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
    let reopened = Tail::open(tree, None).unwrap();
    assert_eq!(
        reopened.append_once(&retry, b"k1", 10).unwrap(),
        Once::Existing(1)
    );
}
