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
/// A hash table holds them all, for the point reads and writes of every read and commit:
/// O(1) however large the state (a B-tree costs a commit a walk of ~log n keys, each a cache
/// miss, for every write: 4× slower per write at 10^6 entries than at 10^4). Only map
/// entries, which `map_next_key` walks in order, also sit in an ordered set (their key
/// bytes shared, `IVec`s being reference counted); counters and lists are read by key
/// alone, and a scan over them (a dump, a checkpoint, `verify`) sorts what it takes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Resident {
    values: HashMap<IVec, IVec>,
    maps: BTreeSet<IVec>,
    bytes: usize,
}

/// Whether `key` is a record of the state (the `s` area), which lives here, not in sled.
pub(crate) fn is_state(key: &[u8]) -> bool {
    key.first() == Some(&area::STATE)
}

/// Whether the state record `key` is a map entry.
fn is_map(key: &[u8]) -> bool {
    super::parse_state_key(key).is_some_and(|(_, kind, _, _)| kind == super::MAP)
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

    /// The first map entry's key at or after `from` (or after it, when excluded).
    pub(crate) fn first_map_key_from(&self, from: Bound<&[u8]>) -> Option<&[u8]> {
        self.maps
            .range::<[u8], _>((from, Bound::Unbounded))
            .next()
            .map(|key| &key[..])
    }

    /// The keys under `prefix`, in order: O(state), for scans.
    pub(crate) fn keys_under(&self, prefix: &[u8]) -> Vec<IVec> {
        let mut keys: Vec<IVec> = self
            .values
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect();
        keys.sort_unstable();
        keys
    }

    /// The records under `prefix`, in key order: O(state), for scans.
    pub(crate) fn prefixed(&self, prefix: &[u8]) -> Vec<(IVec, &IVec)> {
        self.keys_under(prefix)
            .into_iter()
            .map(|key| {
                let value = self.values.get(&key).expect("a key just listed");
                (key, value)
            })
            .collect()
    }

    /// Every record, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &IVec)> {
        self.values.iter().map(|(k, v)| (&k[..], v))
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
                    if is_map(&key) {
                        self.maps.insert(key.clone());
                    }
                    self.values.insert(key, value.clone());
                }
            }
            None => {
                if let Some((key, old)) = self.values.remove_entry(key) {
                    self.bytes -= key.len() + old.len();
                    self.maps.remove(&key);
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
