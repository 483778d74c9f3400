//! The mirror: the committed value of every counter entry, map entry and list length, in
//! memory, so that preparing a commit reads nothing from sled.
//!
//! A commit must know the old value of each entry it touches: to sum a counter, and to take
//! the old digest out of the lattice. Read from sled, each is a B-tree walk under sled's
//! shared lock (~µs) on the commit path; from a hashbrown table, it is a hash and a compare.
//! List elements are not mirrored: a commit only ever adds new ones (store invariant D), so
//! nothing reads them back on that path.
//!
//! # Invariants
//!
//! - (M) For every key of the `s` area whose kind is a counter (`c`), a map (`m`) or a list
//!   length (`n`), the mirror holds it iff the committed state does (the resident state,
//!   `store/resident.rs`, once every journal written is settled), with the same bytes; it
//!   holds no other key. Built from the resident state at open, changed only by
//!   [`Store::journal`](super::Store::journal), with exactly the writes of the commit it
//!   journals: ahead of the resident state by the journals not yet settled, so that the
//!   next round's commit can be prepared while one is flushed.
//!
//! Values are [`sled::IVec`]s, which share their bytes with the batch that wrote them, so a
//! large map value is not copied a second time.

use hashbrown::HashMap;

use super::resident::Resident;
use super::{parse_state_key, StoreError, COUNTER, LIST_LEN, MAP};

/// The mirrored entries of a store (invariant M).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Mirror {
    entries: HashMap<Box<[u8]>, sled::IVec>,
}

/// Whether the mirror keeps `key` (a key of the `s` area).
fn mirrored(key: &[u8]) -> bool {
    parse_state_key(key).is_some_and(|(_, kind, _, _)| matches!(kind, COUNTER | MAP | LIST_LEN))
}

impl Mirror {
    /// The mirror of the resident state (`store/resident.rs`).
    pub(crate) fn load(resident: &Resident) -> Result<Mirror, StoreError> {
        let mut entries = HashMap::new();
        for (key, value) in resident.iter() {
            if mirrored(key) {
                entries.insert(Box::from(key), value.clone());
            }
        }
        Ok(Mirror { entries })
    }

    /// The committed value at `key`, if any.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&sled::IVec> {
        self.entries.get(key)
    }

    /// Records that `key` now holds `value` (`None`: removed). Keys the mirror does not
    /// keep are ignored, so a batch's writes can be handed over as they are.
    pub(crate) fn set(&mut self, key: &[u8], value: Option<&sled::IVec>) {
        if !mirrored(key) {
            return;
        }
        match value {
            Some(value) => {
                self.entries.insert(Box::from(key), value.clone());
            }
            None => {
                self.entries.remove(key);
            }
        }
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod laws {
    //! Invariant M as a quickcheck property: after any rounds and reopenings, the mirror a
    //! store keeps equals one built from its resident state.

    use super::Mirror;
    use crate::merge::laws::{quickcheck, Calls, Shape};
    use crate::merge::Delta;
    use crate::store::Store;

    #[test]
    fn prop_mirror_equals_the_store_after_rounds_and_reopenings() {
        fn prop(calls: Calls, shape: Shape, reopen: Vec<bool>) -> bool {
            let mut store = Store::temporary().unwrap();
            let tree = store.reader().tree().clone();
            let mut ok = true;
            let rounds = shape.group(calls.in_seq_order());
            for (i, round) in rounds.iter().enumerate() {
                let delta =
                    Delta::from_calls(round.iter().map(|c| (c.seq, c.canister, &c.log))).unwrap();
                store.apply(&delta).unwrap();
                ok &= store.mirror == Mirror::load(&store.reader().resident()).unwrap();
                if reopen.get(i).copied().unwrap_or(false) {
                    store = Store::init(tree.clone()).unwrap();
                }
            }
            store.verify().unwrap();
            ok && store.mirror == Mirror::load(&store.reader().resident()).unwrap()
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape, Vec<bool>) -> bool);
    }
}
