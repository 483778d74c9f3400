//! The logger canister: a per-user event log (see `logger.did`).
//!
//! `log(user, event)` is a pure update keyed by `user`: it only writes (a counter entry per
//! user, the user's last event, the event list), so the host runs the logs of different
//! users in parallel and those of one user in order.
//!
//! ```
//! use commute_cdk::Principal;
//!
//! let ann = Principal::from_slice(&[1]);
//! logger::log(ann, "signed in".into());
//! logger::log(ann, "signed out".into());
//! assert_eq!(logger::count(ann), 2);
//! assert_eq!(logger::last_event(ann).as_deref(), Some("signed out"));
//! assert_eq!(logger::events(0, 10), ["signed in", "signed out"]);
//! ```

use commute_cdk::stable::{Counter, List, Map};
use commute_cdk::{pure_update, query, Principal};

/// Events logged per user: one counter entry per user.
static EVENTS_PER_USER: Counter = Counter::init("events_per_user");
/// The last event of each user.
static LAST_EVENT: Map<Principal, String> = Map::init("last_event");
/// Every event, in log order.
static EVENTS: List<String> = List::init("events");

/// The most events one `events` call returns.
pub const MAX_PAGE: u64 = 1000;

/// Logs `event` for `user`.
///
/// ```
/// logger::log(commute_cdk::Principal::anonymous(), "hello".into());
/// assert_eq!(logger::events_len(), 1);
/// ```
#[pure_update]
pub fn log(user: Principal, event: String) {
    EVENTS_PER_USER.entry(&user).add(1);
    EVENTS.push(&event);
    LAST_EVENT.insert(user, event);
}

/// How many events `user` has logged.
///
/// ```
/// assert_eq!(logger::count(commute_cdk::Principal::anonymous()), 0);
/// ```
#[query]
pub fn count(user: Principal) -> u64 {
    u64::try_from(EVENTS_PER_USER.entry(&user).get()).unwrap_or(u64::MAX)
}

/// The last event `user` logged, if any.
///
/// ```
/// assert_eq!(logger::last_event(commute_cdk::Principal::anonymous()), None);
/// ```
#[query]
pub fn last_event(user: Principal) -> Option<String> {
    LAST_EVENT.get(&user)
}

/// How many events were logged in all.
///
/// ```
/// assert_eq!(logger::events_len(), 0);
/// ```
#[query]
pub fn events_len() -> u64 {
    EVENTS.len()
}

/// Up to `limit` events (at most [`MAX_PAGE`]) starting at `offset`, in log order.
///
/// ```
/// for e in ["a", "b", "c"] {
///     logger::log(commute_cdk::Principal::anonymous(), e.into());
/// }
/// assert_eq!(logger::events(1, 5), ["b", "c"]);
/// ```
#[query]
pub fn events(offset: u64, limit: u64) -> Vec<String> {
    let end = offset.saturating_add(limit.min(MAX_PAGE)).min(EVENTS.len());
    (offset..end).filter_map(|i| EVENTS.get(i)).collect()
}

commute_cdk::export_candid!("logger.did");

#[cfg(test)]
mod tests;
