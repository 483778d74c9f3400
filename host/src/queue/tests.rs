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
