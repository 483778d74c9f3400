//! The analytics canister: page views, and a CPU-bound method for benchmarks (see
//! `analytics.did`).
//!
//! `view(page)` is a pure update with no key, so views never conflict: the host runs them
//! all in parallel and the counters sum exactly. `work(key, rounds)` burns CPU before it
//! writes, to measure how parallel rounds scale.
//!
//! ```
//! analytics::view("home".into());
//! analytics::view("home".into());
//! analytics::view("about".into());
//! assert_eq!(analytics::views("home".into()), 2);
//! assert_eq!(analytics::total_views(), 3);
//! ```

use commute_cdk::candid::Int;
use commute_cdk::stable::Counter;
use commute_cdk::{init, pure_update, query};

/// Views per page: one counter entry per page.
static VIEWS: Counter = Counter::init("views");
/// Views of all pages.
static TOTAL_VIEWS: Counter = Counter::init("total_views");
/// `work` calls per key.
static WORK_DONE: Counter = Counter::init("work_done");
/// The sum of the low 32 bits of every `work` hash.
static WORK_CHECKSUM: Counter = Counter::init("work_checksum");
/// Installs (and re-installs) of the canister.
static INSTALLS: Counter = Counter::init("installs");

/// Counts the install.
///
/// ```
/// analytics::init();
/// assert_eq!(analytics::installs(), 1);
/// ```
#[init]
pub fn init() {
    INSTALLS.add(1);
}

/// Counts a view of `page`.
///
/// ```
/// analytics::view("home".into());
/// assert_eq!(analytics::views("home".into()), 1);
/// ```
#[pure_update]
pub fn view(page: String) {
    VIEWS.entry(&page).add(1);
    TOTAL_VIEWS.add(1);
}

/// The views of `page`.
///
/// ```
/// assert_eq!(analytics::views("nowhere".into()), 0);
/// ```
#[query]
pub fn views(page: String) -> u64 {
    clamp(VIEWS.entry(&page).get())
}

/// The views of all pages.
///
/// ```
/// assert_eq!(analytics::total_views(), 0);
/// ```
#[query]
pub fn total_views() -> u64 {
    clamp(TOTAL_VIEWS.get())
}

/// Hashes `rounds` times starting from `key`, then counts the work under `key` and adds the
/// hash's low 32 bits to the checksum.
///
/// ```
/// analytics::work(7, 1000);
/// assert_eq!(analytics::work_done(7), 1);
/// let low_bits = analytics::hash_rounds(7, 1000) & 0xffff_ffff;
/// assert_eq!(analytics::work_checksum(), commute_cdk::candid::Int::from(low_bits));
/// ```
#[pure_update]
pub fn work(key: u64, rounds: u32) {
    let hash = hash_rounds(key, rounds);
    WORK_DONE.entry(&key).add(1);
    WORK_CHECKSUM.add((hash & 0xffff_ffff) as i64);
}

/// How many `work` calls were made with `key`.
///
/// ```
/// assert_eq!(analytics::work_done(1), 0);
/// ```
#[query]
pub fn work_done(key: u64) -> u64 {
    clamp(WORK_DONE.entry(&key).get())
}

/// The sum of the low 32 bits of every `work` hash.
///
/// ```
/// assert_eq!(analytics::work_checksum(), commute_cdk::candid::Int::from(0));
/// ```
#[query]
pub fn work_checksum() -> Int {
    Int::from(WORK_CHECKSUM.get())
}

/// How many times the canister was installed.
///
/// ```
/// assert_eq!(analytics::installs(), 0);
/// ```
#[query]
pub fn installs() -> u64 {
    clamp(INSTALLS.get())
}

/// `rounds` rounds of the splitmix64 finalizer, chained from `seed`: deterministic,
/// branch-free work that the compiler cannot skip.
///
/// ```
/// assert_eq!(analytics::hash_rounds(1, 0), 1);
/// assert_ne!(analytics::hash_rounds(1, 1), analytics::hash_rounds(2, 1));
/// ```
pub fn hash_rounds(seed: u64, rounds: u32) -> u64 {
    let mut x = seed;
    for _ in 0..rounds {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

/// A counter's value as a `nat64` (counters here only grow, from 0).
fn clamp(value: i128) -> u64 {
    u64::try_from(value).unwrap_or(if value < 0 { 0 } else { u64::MAX })
}

commute_cdk::export_candid!("analytics.did");

#[cfg(test)]
mod tests;
