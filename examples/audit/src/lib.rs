//! The audit canister: a trail of transfers. Its `.did` is derived from this file by
//! `export_candid!()`; `audit.did` is a copy, which a test keeps equal.
//!
//! `record(from, to, amount)` is a pure update keyed by both accounts: calls that share an
//! account run in order, the rest in parallel. It writes its own entries and fires a pure
//! call to the `logger` canister, so one call fans out into a second round.
//!
//! ```
//! use commute_cdk::{testing, Principal};
//!
//! let (ann, bob) = (Principal::from_slice(&[1]), Principal::from_slice(&[2]));
//! audit::record(ann, bob, 10);
//! assert_eq!(audit::sent(ann), 10u64);
//! assert_eq!(audit::received(bob), 10u64);
//! let logged = testing::take_pure_calls();
//! assert_eq!((logged[0].canister.as_str(), logged[0].method.as_str()), ("logger", "log"));
//! ```

use candid::{CandidType, Deserialize, Nat, Principal};
use commute_cdk::stable::{Counter, List, Map};
use commute_cdk::{api, candid_storable, pure_update, query, update, Call};

/// One recorded transfer.
///
/// ```
/// let t = audit::Transfer { from: commute_cdk::Principal::anonymous(), to: commute_cdk::Principal::anonymous(), amount: 1, time: 0 };
/// assert_eq!(t.amount, 1);
/// ```
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The paying account.
    pub from: Principal,
    /// The receiving account.
    pub to: Principal,
    /// The amount.
    pub amount: u64,
    /// When the recording call was accepted (nanoseconds since the epoch).
    pub time: u64,
}

candid_storable!(Transfer);

/// Totals sent, per account.
static SENT: Counter = Counter::init("sent");
/// Totals received, per account.
static RECEIVED: Counter = Counter::init("received");
/// Every transfer, in record order.
static TRANSFERS: List<Transfer> = List::init("transfers");
/// The auditors' note, under the empty key.
static NOTE: Map<(), String> = Map::init("note");

/// The canister every transfer is logged to, and its method.
pub const LOGGER: (&str, &str) = ("logger", "log");

/// The most transfers one `transfers` call returns.
pub const MAX_PAGE: u64 = 1000;

/// Records a transfer of `amount` from `from` to `to`, and logs it for `from` with the
/// logger canister. If no logger is installed, the transfer is still recorded.
///
/// ```
/// let p = commute_cdk::Principal::anonymous();
/// audit::record(p, p, 5);
/// assert_eq!(audit::transfers_len(), 1);
/// ```
#[pure_update(key = "from, to")]
pub fn record(from: Principal, to: Principal, amount: u64) {
    add_u64(&SENT.entry(&from), amount);
    add_u64(&RECEIVED.entry(&to), amount);
    TRANSFERS.push(&Transfer {
        from,
        to,
        amount,
        time: api::time(),
    });
    let event = format!("transfer {amount} to {to}");
    if let Err(e) = Call::bounded_wait(LOGGER.0, LOGGER.1)
        .with_args(&(from, event))
        .oneway()
    {
        api::debug_print(format!("audit: not logged: {e}"));
    }
}

/// Adds a `u64` to a counter whose `add` takes an `i64`: in at most three steps, as
/// `u64::MAX` is `2 * i64::MAX + 1`.
fn add_u64(counter: &Counter, amount: u64) {
    let mut left = amount;
    while left > 0 {
        let part = left.min(i64::MAX as u64);
        counter.add(part as i64);
        left -= part;
    }
}

/// The total `account` sent.
///
/// ```
/// assert_eq!(audit::sent(commute_cdk::Principal::anonymous()), 0u64);
/// ```
#[query]
pub fn sent(account: Principal) -> Nat {
    nat(SENT.entry(&account).get())
}

/// The total `account` received.
///
/// ```
/// assert_eq!(audit::received(commute_cdk::Principal::anonymous()), 0u64);
/// ```
#[query]
pub fn received(account: Principal) -> Nat {
    nat(RECEIVED.entry(&account).get())
}

/// How many transfers were recorded.
///
/// ```
/// assert_eq!(audit::transfers_len(), 0);
/// ```
#[query]
pub fn transfers_len() -> u64 {
    TRANSFERS.len()
}

/// Up to `limit` transfers (at most 1000) starting at `offset`, in record order.
///
/// The cap is [`MAX_PAGE`].
///
/// ```
/// assert!(audit::transfers(0, 10).is_empty());
/// ```
#[query]
pub fn transfers(offset: u64, limit: u64) -> Vec<Transfer> {
    let end = offset
        .saturating_add(limit.min(MAX_PAGE))
        .min(TRANSFERS.len());
    (offset..end).filter_map(|i| TRANSFERS.get(i)).collect()
}

/// Sets the auditors' note, returning the previous one.
///
/// ```
/// assert_eq!(audit::set_note("checked".into()), None);
/// assert_eq!(audit::note().as_deref(), Some("checked"));
/// ```
#[update]
pub fn set_note(note: String) -> Option<String> {
    let previous = NOTE.get(&());
    NOTE.insert((), note);
    previous
}

/// The auditors' note.
///
/// ```
/// assert_eq!(audit::note(), None);
/// ```
#[query]
pub fn note() -> Option<String> {
    NOTE.get(&())
}

/// A total as a `nat` (totals only grow, from 0).
fn nat(total: i128) -> Nat {
    Nat::from(u128::try_from(total).unwrap_or(0))
}

commute_cdk::export_candid!();

#[cfg(test)]
mod tests;
