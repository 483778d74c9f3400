use super::*;

#[test]
fn twenty_thousand_ops_are_refused_at_op_16385() {
    let mut log = WriteLog::new(LogLimits::default());
    let mut refused = None;
    for i in 0..20_000u32 {
        if let Err(err) = log.counter_add(b"views", b"", 1) {
            refused = Some((i + 1, err));
            break;
        }
    }
    let (at, err) = refused.expect("the cap must stop the call");
    assert_eq!(at, 16_385);
    assert_eq!(
        err,
        WriteLogError::TooManyOps {
            op: 16_385,
            max: 16_384
        }
    );
    assert_eq!(
        err.to_string(),
        "write log cap exceeded: op 16385 is over the limit of 16384 ops per call"
    );
    assert_eq!(log.len(), 16_384);
}

#[test]
fn ops_are_not_coalesced_before_the_check() {
    let mut log = WriteLog::new(LogLimits {
        max_ops: 2,
        ..LogLimits::default()
    });
    log.counter_add(b"c", b"k", 1).unwrap();
    log.counter_add(b"c", b"k", 1).unwrap();
    assert!(matches!(
        log.counter_add(b"c", b"k", 1),
        Err(WriteLogError::TooManyOps { op: 3, max: 2 })
    ));
}

#[test]
fn byte_cap_counts_names_keys_and_values() {
    let mut log = WriteLog::new(LogLimits {
        max_ops: 100,
        max_bytes: 10,
    });
    log.map_put(b"ab", b"cd", b"ef").unwrap();
    assert_eq!(log.bytes(), 6);
    let err = log.map_put(b"ab", b"cd", b"ef").unwrap_err();
    assert_eq!(
        err,
        WriteLogError::TooManyBytes {
            op: 2,
            bytes: 12,
            max: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "write log cap exceeded: op 2 brings the log to 12 bytes, over the limit of 10 bytes per call"
    );
    // A refused op leaves the log as it was; a smaller one still fits.
    assert_eq!((log.len(), log.bytes()), (1, 6));
    log.list_push(b"l", b"123").unwrap();
    log.map_remove(b"", b"").unwrap();
    assert_eq!(log.bytes(), 10);
}

#[test]
fn counter_deltas_count_no_bytes() {
    let op = Op::CounterAdd {
        name: b"n".to_vec(),
        key: b"kk".to_vec(),
        delta: i64::MAX,
    };
    assert_eq!(op.byte_len(), 3);
}

#[test]
fn check_next_keeps_nothing() {
    let log = WriteLog::new(LogLimits {
        max_ops: 0,
        max_bytes: 0,
    });
    assert!(matches!(
        log.check_next(0),
        Err(WriteLogError::TooManyOps { op: 1, max: 0 })
    ));
    assert!(log.is_empty());
}

#[test]
fn equality_ignores_limits() {
    let mut a = WriteLog::new(LogLimits {
        max_ops: 5,
        max_bytes: 5,
    });
    let mut b = WriteLog::default();
    a.list_push(b"l", b"v").unwrap();
    b.list_push(b"l", b"v").unwrap();
    assert_eq!(a, b);
}
