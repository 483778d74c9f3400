//! A round's budget: the fuel its critical path may hold, as the IC bounds the instructions
//! of a round, so that one canister's backlog of heavy calls cannot make a round (and the
//! calls of every other canister in it) wait for all of them.
//!
//! What a call will cost is known only once it ran, so the budget works on estimates: per
//! canister and method, the fuel its calls used lately ([`Costs`]). A round takes a
//! canister's next call only while the chains it lengthens (its keys, in the key DAG) and
//! the round's whole work spread over the workers stay within the budget; the first call
//! of each canister is always taken, so every canister moves on every round it has calls
//! in. A method that never ran yet is taken to use the whole per-call fuel limit.
//!
//! # Invariants
//!
//! - (A) The budget changes which calls share a round, never what a call does or commits:
//!   the round takes each canister's calls as a prefix of its pending ones (`round`'s
//!   invariant A) whatever the estimates say.
//! - (B) Estimates rise at once and fall slowly: a call that used more sets the estimate
//!   to what it used, one that used less moves it a quarter of the way down, so one heavy
//!   call after light ones is not taken as light again.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

use hashbrown::{DefaultHashBuilder, HashMap};

use crate::queue::QueuedCall;
use crate::round::Executed;

/// How many calls of the per-call fuel limit a round's critical path may hold.
pub const ROUND_FUEL_CALLS: u64 = 4;

/// Estimates by canister, then method.
type ByCanister = HashMap<String, HashMap<String, u64>>;

/// The fuel the calls of each canister's methods used lately (invariant B).
#[derive(Debug, Default)]
pub struct Costs {
    by_canister: Mutex<ByCanister>,
}

impl Costs {
    /// Learns from calls that ran.
    pub fn learn(&self, ran: &[Executed]) {
        let mut by_canister = self.lock();
        // A round is mostly runs of calls to one method: each run looks its estimate up
        // once, then folds its calls in order, as a lookup per call would.
        let mut calls = ran.iter().peekable();
        while let Some((_, call, ex)) = calls.next() {
            let methods = match by_canister.get_mut(&call.canister) {
                Some(methods) => methods,
                None => by_canister.entry(call.canister.clone()).or_default(),
            };
            let estimate = match methods.get_mut(&call.method) {
                Some(estimate) => {
                    *estimate = next_estimate(*estimate, ex.fuel_used);
                    estimate
                }
                None => methods.entry(call.method.clone()).or_insert(ex.fuel_used),
            };
            while let Some((_, _, ex)) = calls.next_if(|(_, next, _)| {
                next.canister == call.canister && next.method == call.method
            }) {
                *estimate = next_estimate(*estimate, ex.fuel_used);
            }
        }
    }

    /// The estimate for `canister.method`, if one of its calls ran.
    pub fn estimate(&self, canister: &str, method: &str) -> Option<u64> {
        self.lock().get(canister)?.get(method).copied()
    }

    fn lock(&self) -> MutexGuard<'_, ByCanister> {
        // Estimates are hints (invariant A): a panic mid-update leaves a usable map.
        self.by_canister.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Invariant B.
///
/// ```
/// use commute::round::budget::next_estimate;
///
/// assert_eq!(next_estimate(100, 500), 500);
/// assert_eq!(next_estimate(100, 20), 80);
/// ```
pub fn next_estimate(estimate: u64, used: u64) -> u64 {
    used.max(estimate - (estimate - estimate.min(used)) / 4)
}

/// The round being taken, against its budget.
#[derive(Debug)]
pub struct Plan {
    /// The estimates as the round is taken: a few entries, copied once.
    costs: ByCanister,
    /// The fuel the critical path may hold.
    fuel: u64,
    /// What a call of a method with no estimate is taken to use.
    unknown: u64,
    threads: u64,
    /// The estimated end of each (canister, key) chain, by the pair's hash: two chains
    /// that collide are one longer chain, which only makes the round smaller (invariant A).
    chains: HashMap<u64, u64>,
    hasher: DefaultHashBuilder,
    /// The estimated fuel of every call taken.
    total: u64,
    /// The canisters with a call taken.
    started: HashSet<String>,
    /// The canister and method of the last call admitted, with its estimate.
    last: Option<(String, String, u64)>,
}

impl Plan {
    /// A round whose critical path may hold `fuel`, run on `threads` workers, whose calls
    /// of methods that never ran are taken to use `unknown` (the per-call limit).
    pub fn new(costs: &Costs, (fuel, unknown): (u64, u64), threads: usize) -> Plan {
        Plan {
            costs: costs.lock().clone(),
            fuel,
            unknown,
            threads: u64::try_from(threads.max(1)).unwrap_or(1),
            chains: HashMap::new(),
            hasher: DefaultHashBuilder::default(),
            total: 0,
            started: HashSet::new(),
            last: None,
        }
    }

    /// Whether the round takes `call`, a pure call whose canister has taken every call
    /// before it; a taken call counts against the budget. If not, the round takes no later
    /// call of its canister either.
    pub fn admit(&mut self, call: &QueuedCall) -> bool {
        // A round is mostly runs of calls to one method: the run's first call looks the
        // estimate up, the others reuse it.
        let cost = match &self.last {
            Some((canister, method, cost))
                if *canister == call.canister && *method == call.method =>
            {
                *cost
            }
            _ => {
                let cost = (self.costs.get(call.canister.as_str()))
                    .and_then(|methods| methods.get(call.method.as_str()))
                    .copied()
                    .unwrap_or(self.unknown);
                self.last = Some((call.canister.clone(), call.method.clone(), cost));
                cost
            }
        };
        let first = !self.started.contains(&call.canister);
        let key = |k: &[u8]| self.hasher.hash_one((call.canister.as_str(), k));
        let start = call
            .keys
            .iter()
            .map(|k| self.chains.get(&key(k)).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        let end = start.saturating_add(cost);
        let total = self.total.saturating_add(cost);
        if !first && (end > self.fuel || total / self.threads > self.fuel) {
            return false;
        }
        for k in &call.keys {
            let chain = key(k);
            self.chains.insert(chain, end);
        }
        self.total = total;
        if first {
            self.started.insert(call.canister.clone());
        }
        true
    }
}

#[cfg(test)]
mod laws {
    use super::Costs;
    use crate::execute::Execution;
    use crate::queue::{CallKind, QueuedCall};
    use crate::round::Executed;
    use quickcheck::QuickCheck;
    use serde_bytes::ByteBuf;

    /// A call to one of two methods of one of two canisters that used `fuel`.
    fn executed((canister, method, fuel): (bool, bool, u16)) -> Executed {
        let call = QueuedCall {
            canister: if canister { "a" } else { "b" }.into(),
            method: if method { "m" } else { "n" }.into(),
            kind: CallKind::Pure,
            caller: ByteBuf::new(),
            arg: ByteBuf::new(),
            keys: Vec::new(),
            time: 0,
        };
        let mut ex = Execution::trapped("");
        ex.fuel_used = u64::from(fuel);
        (0, call, ex)
    }

    /// Learning a round at once gives the estimates that learning its calls one at a time,
    /// in order, gives (runs of one method are folded with one lookup).
    #[test]
    fn prop_a_round_learns_what_its_calls_one_by_one_teach() {
        fn prop(calls: Vec<(bool, bool, u16)>) -> bool {
            let ran: Vec<Executed> = calls.into_iter().map(executed).collect();
            let (whole, each) = (Costs::default(), Costs::default());
            whole.learn(&ran);
            for (seq, call, ex) in &ran {
                each.learn(&[(*seq, call.clone(), ex.clone())]);
            }
            ["a", "b"].iter().all(|c| {
                ["m", "n"]
                    .iter()
                    .all(|m| whole.estimate(c, m) == each.estimate(c, m))
            })
        }
        QuickCheck::new().quickcheck(prop as fn(Vec<(bool, bool, u16)>) -> bool);
    }
}
