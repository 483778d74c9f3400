use commute_cdk::call::call_pure_status::NO_SUCH_CANISTER;
use commute_cdk::{testing, Principal};

use super::*;

fn account(n: u8) -> Principal {
    Principal::from_slice(&[n])
}

#[test]
fn records_totals_and_trail() {
    testing::set_time(42);
    record(account(1), account(2), 10);
    record(account(2), account(3), 4);
    record(account(1), account(3), u64::MAX);
    assert_eq!(sent(account(1)), Nat::from(10u128 + u128::from(u64::MAX)));
    assert_eq!(received(account(2)), Nat::from(10u8));
    assert_eq!(
        received(account(3)),
        Nat::from(4u128 + u128::from(u64::MAX))
    );
    assert_eq!(sent(account(3)), Nat::from(0u8));
    assert_eq!(transfers_len(), 3);
    assert_eq!(
        transfers(1, 1),
        [Transfer {
            from: account(2),
            to: account(3),
            amount: 4,
            time: 42
        }]
    );
}

#[test]
fn logs_each_transfer_with_the_logger() {
    record(account(1), account(2), 10);
    let calls = testing::take_pure_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].canister.as_str(), calls[0].method.as_str()),
        LOGGER
    );
    let (user, event): (Principal, String) = calls[0].decode();
    assert_eq!(user, account(1));
    assert_eq!(event, format!("transfer 10 to {}", account(2)));
}

#[test]
fn records_even_without_a_logger() {
    testing::set_call_pure_status(NO_SUCH_CANISTER);
    record(account(1), account(2), 1);
    assert_eq!(transfers_len(), 1);
    assert!(testing::take_pure_calls().is_empty());
    let prints = testing::take_debug_prints();
    assert!(
        prints[0].starts_with("audit: not logged: call_pure to logger.log was refused"),
        "{prints:?}"
    );
}

#[test]
fn note_is_an_update_that_reads_its_own_writes() {
    assert_eq!(note(), None);
    assert_eq!(set_note("a".into()), None);
    assert_eq!(set_note("b".into()), Some("a".into()));
    assert_eq!(note().as_deref(), Some("b"));
}

/// The `.did` derived from this crate's signatures is the one in `audit.did`, which
/// documents it (and which tools other than commute can read). After changing a method,
/// write the printed text to `audit.did`.
#[test]
fn the_derived_did_is_audit_did() {
    let derived = crate::__export_service();
    assert!(
        derived == include_str!("../audit.did"),
        "audit.did is not what export_candid!() derives:\n{derived}"
    );
}
