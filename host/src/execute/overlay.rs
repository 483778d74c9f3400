//! [`Overlay`]: a call's own writes, laid over the committed state so that an update reads
//! what it wrote (`docs/modes.md`, invariant (F) of [`crate::execute`]).
//!
//! The overlay gets every op the call's [`WriteLog`](crate::write_log::WriteLog) gets, in
//! the same order, and answers reads as the store would after committing the call alone
//! on top of the committed state (the merge rules of `docs/modes.md`, within one call):
//!
//! - counter: committed value plus the call's deltas, wrapping at 2^127 as the store does;
//! - map: the call's last `put` or `remove` of a key wins over the committed value;
//!   `map_next_key` merges the call's keys with the committed ones, skipping keys the call
//!   removed;
//! - list: the call's pushes come after every committed element (the call's seq is above
//!   every committed one, since updates are barriers: `docs/modes.md`).
//!
//! # Invariant
//!
//! - (A) For every read, [`Overlay::view`] over state `S` answers as `S` would after the
//!   recorded ops were applied to it one by one. `tests.rs` checks this against a model.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::state::{StateError, StateView};
use crate::write_log::Op;

/// One map's writes by the call: key → its last write (`None`: removed).
type MapWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A call's own writes, indexed for reads.
///
/// # Examples
///
/// ```
/// use commute::execute::overlay::Overlay;
/// use commute::write_log::Op;
///
/// let mut own = Overlay::default();
/// own.record(&Op::CounterAdd { name: b"hits".to_vec(), key: vec![], delta: 2 });
/// assert!(!own.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    /// `(name, key)` → the sum of the call's deltas.
    counters: BTreeMap<(Vec<u8>, Vec<u8>), i128>,
    /// name → key → the call's last write of it (`None`: removed).
    maps: BTreeMap<Vec<u8>, MapWrites>,
    /// name → the values the call pushed, in order.
    lists: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
}

impl Overlay {
    /// Records `op`, the call's next write.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::overlay::Overlay;
    /// use commute::write_log::Op;
    ///
    /// let mut own = Overlay::default();
    /// own.record(&Op::ListPush { name: b"events".to_vec(), value: b"login".to_vec() });
    /// ```
    pub fn record(&mut self, op: &Op) {
        match op {
            Op::CounterAdd { name, key, delta } => {
                let sum = self
                    .counters
                    .entry((name.clone(), key.clone()))
                    .or_default();
                *sum = sum.wrapping_add(i128::from(*delta));
            }
            Op::MapPut { name, key, value } => {
                self.map(name).insert(key.clone(), Some(value.clone()));
            }
            Op::MapRemove { name, key } => {
                self.map(name).insert(key.clone(), None);
            }
            Op::ListPush { name, value } => {
                self.lists
                    .entry(name.clone())
                    .or_default()
                    .push(value.clone());
            }
        }
    }

    fn map(&mut self, name: &[u8]) -> &mut BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        if !self.maps.contains_key(name) {
            self.maps.insert(name.to_vec(), BTreeMap::new());
        }
        self.maps.get_mut(name).expect("inserted above")
    }

    /// Whether no write was recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(commute::execute::overlay::Overlay::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.maps.is_empty() && self.lists.is_empty()
    }

    /// The state `base` with the recorded writes on top: a [`StateView`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::overlay::Overlay;
    /// use commute::execute::{CanisterState, StateView};
    /// use commute::write_log::Op;
    ///
    /// let store = commute::store::Store::temporary()?;
    /// let committed = CanisterState::new(store.reader(), "c");
    /// let mut own = Overlay::default();
    /// own.record(&Op::MapPut { name: b"m".to_vec(), key: b"k".to_vec(), value: b"v".to_vec() });
    /// assert_eq!(own.view(&committed).map_get(b"m", b"k")?, Some(b"v".to_vec()));
    /// assert_eq!(committed.map_get(b"m", b"k")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn view<'a>(&'a self, base: &'a dyn StateView) -> Overlaid<'a> {
        Overlaid { own: self, base }
    }
}

/// [`Overlay::view`]: committed state with a call's own writes on top.
#[derive(Clone, Copy)]
pub struct Overlaid<'a> {
    own: &'a Overlay,
    base: &'a dyn StateView,
}

impl StateView for Overlaid<'_> {
    fn counter_get(&self, name: &[u8], key: &[u8]) -> Result<i128, StateError> {
        let committed = self.base.counter_get(name, key)?;
        // A BTreeMap keyed by owned pairs cannot be probed with borrowed ones; the copy is
        // as long as the name and key, which the guest paid fuel for.
        let own = self
            .own
            .counters
            .get(&(name.to_vec(), key.to_vec()))
            .copied()
            .unwrap_or(0);
        Ok(committed.wrapping_add(own))
    }

    fn map_get(&self, name: &[u8], key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.own.maps.get(name).and_then(|map| map.get(key)) {
            Some(own) => Ok(own.clone()),
            None => self.base.map_get(name, key),
        }
    }

    fn map_next_key(
        &self,
        name: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StateError> {
        let Some(own) = self.own.maps.get(name) else {
            return self.base.map_next_key(name, after);
        };
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        // The first key the call put (and did not remove since) after `after`.
        let own_next = own
            .range::<[u8], _>((start, Bound::Unbounded))
            .find(|(_, value)| value.is_some())
            .map(|(key, _)| key);
        // The first committed key after `after` that the call did not remove. Each skip
        // passes one of the call's removes, so this loop is bounded by the log.
        let mut cursor = after.map(<[u8]>::to_vec);
        let committed_next = loop {
            match self.base.map_next_key(name, cursor.as_deref())? {
                Some(key) if matches!(own.get(&key), Some(None)) => cursor = Some(key),
                next => break next,
            }
        };
        Ok(match (own_next, committed_next) {
            (Some(own), Some(committed)) => Some(own.clone().min(committed)),
            (Some(own), None) => Some(own.clone()),
            (None, committed) => committed,
        })
    }

    fn list_len(&self, name: &[u8]) -> Result<u64, StateError> {
        let own = self.own.lists.get(name).map_or(0, Vec::len) as u64;
        Ok(self.base.list_len(name)? + own)
    }

    fn list_get(&self, name: &[u8], i: u64) -> Result<Option<Vec<u8>>, StateError> {
        let Some(own) = self.own.lists.get(name) else {
            return self.base.list_get(name, i);
        };
        let committed = self.base.list_len(name)?;
        if i < committed {
            return self.base.list_get(name, i);
        }
        Ok(usize::try_from(i - committed)
            .ok()
            .and_then(|j| own.get(j))
            .cloned())
    }
}

#[cfg(test)]
mod tests;
