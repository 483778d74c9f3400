use commute_cdk::Principal;

use super::*;

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n])
}

#[test]
fn counts_and_last_events_are_per_user() {
    log(user(1), "a1".into());
    log(user(2), "b1".into());
    log(user(1), "a2".into());
    assert_eq!(count(user(1)), 2);
    assert_eq!(count(user(2)), 1);
    assert_eq!(count(user(3)), 0);
    assert_eq!(last_event(user(1)).as_deref(), Some("a2"));
    assert_eq!(last_event(user(2)).as_deref(), Some("b1"));
    assert_eq!(last_event(user(3)), None);
    assert_eq!(events_len(), 3);
    assert_eq!(events(0, 10), ["a1", "b1", "a2"]);
}

#[test]
fn pages_are_clamped() {
    for i in 0..5 {
        log(user(1), format!("e{i}"));
    }
    assert_eq!(events(3, 10), ["e3", "e4"]);
    assert!(events(5, 10).is_empty());
    assert!(events(u64::MAX, u64::MAX).is_empty());
    assert_eq!(events(0, 0), Vec::<String>::new());
}
