//! The resident state: every record of the `s` area, in memory, in sled's key order.
//!
//! A commit used to land as sled inserts, one per key (~3 µs each, and more in a larger
//! tree): for a logging call, four of them, more than the call's own wasm. Now the state
//! lives here, a commit's `s` writes are B-tree inserts in memory, and sled sees a round
//! only as its journal record (`store/journal.rs`); the state reaches sled whole, in a few
//! large chunks, at each checkpoint (`store/checkpoint.rs`). Reads never walk sled's tree
//! for state.
//!
//! # Invariants
//!
//! - (R) The resident state holds exactly the `s` records that the last checkpoint, then
//!   every journal after it that has been settled (flushed, J2), leave, byte for byte: the
//!   records the per-key layout of the store's module doc describes. Loaded at open, then
//!   changed only by [`Resident::apply`] with a settled journal's writes.
//! - `bytes` is the sum of the lengths of its keys and values.

use std::collections::BTreeSet;
use std::ops::Bound;

use hashbrown::HashMap;
use sled::IVec;

use super::journal::Write;
use super::StoreError;
use crate::store::area;

/// The `s` records, keyed as in sled (invariant R).
///
/// Two indexes over the same keys (their bytes shared, `IVec`s being reference counted):
/// a hash table for the point reads and writes of every read and commit, O(1) however
/// large the state; and an ordered set of the keys, for scans and `map_next_key`, touched
/// only when a key appears or goes. A B-tree alone costs a commit a walk of ~log n keys,
/// each a cache miss, for every write: 4× slower per write at 10^6 entries than at 10^4.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Resident {
    values: HashMap<IVec, IVec>,
    order: BTreeSet<IVec>,
    bytes: usize,
}

/// Whether `key` is a record of the state (the `s` area), which lives here, not in sled.
pub(crate) fn is_state(key: &[u8]) -> bool {
    key.first() == Some(&area::STATE)
}

impl Resident {
    /// The `s` records of `tree`: a store whose state was kept in sled key by key (before
    /// checkpoints existed), or one never checkpointed.
    pub(crate) fn scan(tree: &sled::Tree) -> Result<Resident, StoreError> {
        let mut resident = Resident::default();
        for item in tree.scan_prefix([area::STATE]) {
            let (key, value) = item?;
            resident.set(&key, Some(&value));
        }
        Ok(resident)
    }

    /// The record at `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&IVec> {
        self.values.get(key)
    }

    /// The record at `key`, which the ordered set holds.
    fn at<'a>(&'a self, key: &'a IVec) -> (&'a [u8], &'a IVec) {
        let value = self
            .values
            .get(key)
            .expect("both indexes hold the same keys");
        (&key[..], value)
    }

    /// The first record at or after `from` (or after it, when excluded).
    pub(crate) fn first_from(&self, from: Bound<&[u8]>) -> Option<(&[u8], &IVec)> {
        self.order
            .range::<[u8], _>((from, Bound::Unbounded))
            .next()
            .map(|key| self.at(key))
    }

    /// The records under `prefix`, in key order.
    pub(crate) fn prefixed<'a>(
        &'a self,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a IVec)> + 'a {
        self.order
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |key| key.starts_with(prefix))
            .map(|key| self.at(key))
    }

    /// Up to `n` records under `prefix` after `after` (from the prefix's first when
    /// `None`), in key order: one page of a scan that does not hold the reader's lock.
    pub(crate) fn page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        n: usize,
    ) -> Vec<(Box<[u8]>, IVec)> {
        let from = after.map_or(Bound::Included(prefix), Bound::Excluded);
        self.order
            .range::<[u8], _>((from, Bound::Unbounded))
            .take_while(|key| key.starts_with(prefix))
            .take(n)
            .map(|key| {
                let (key, value) = self.at(key);
                (Box::from(key), value.clone())
            })
            .collect()
    }

    /// Every record, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &IVec)> {
        self.order.iter().map(|key| self.at(key))
    }

    /// The bytes of its keys and values.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sets `key` to `value` (`None`: removes it).
    fn set(&mut self, key: &[u8], value: Option<&IVec>) {
        match value {
            Some(value) => {
                self.bytes += value.len();
                if let Some(old) = self.values.get_mut(key) {
                    self.bytes -= old.len();
                    *old = value.clone();
                } else {
                    let key = IVec::from(key);
                    self.bytes += key.len();
                    self.order.insert(key.clone());
                    self.values.insert(key, value.clone());
                }
            }
            None => {
                if let Some((key, old)) = self.values.remove_entry(key) {
                    self.bytes -= key.len() + old.len();
                    self.order.remove(&key);
                }
            }
        }
    }

    /// Lands the `s` writes of a settled journal, in order (R); writes to other areas are
    /// sled's and skipped.
    pub(crate) fn apply(&mut self, writes: &[Write]) {
        for (key, value) in writes {
            if is_state(key) {
                self.set(key, value.as_ref());
            }
        }
    }
}

#[cfg(test)]
mod laws {
    //! Invariant R as quickcheck properties: after any rounds, checkpoints, kills and
    //! reopenings, the resident state equals what a fresh open of the same tree loads; and
    //! replaying journals already applied changes nothing.

    use crate::merge::laws::{quickcheck, Calls, Shape};
    use crate::merge::Delta;
    use crate::store::Store;

    /// Commits `calls` as rounds of `shape`; after round i, checkpoints if `checkpoint[i]`
    /// and reopens from the tree (a kill: nothing but what sled holds survives) if
    /// `reopen[i]`. The resident state equals a fresh open's at every step, and the root is
    /// the same.
    #[test]
    fn prop_resident_equals_a_fresh_open_after_rounds_checkpoints_and_kills() {
        fn prop(calls: Calls, shape: Shape, checkpoint: Vec<bool>, reopen: Vec<bool>) -> bool {
            let mut store = Store::temporary().unwrap();
            let db = store.db().clone();
            let mut ok = true;
            for (i, round) in shape.group(calls.in_seq_order()).iter().enumerate() {
                let delta =
                    Delta::from_calls(round.iter().map(|c| (c.seq, c.canister, &c.log))).unwrap();
                store.apply(&delta).unwrap();
                if checkpoint.get(i).copied().unwrap_or(false) {
                    store.checkpoint().unwrap();
                }
                let fresh = Store::init(&db).unwrap();
                ok &= *store.reader().resident() == *fresh.reader().resident();
                ok &= store.root() == fresh.root();
                if reopen.get(i).copied().unwrap_or(false) {
                    drop(store);
                    store = fresh;
                }
            }
            store.verify().unwrap();
            ok
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape, Vec<bool>, Vec<bool>) -> bool);
    }
}
