//! [`Model`]: committed state as plain `BTreeMap`s, a [`StateView`] for tests.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::state::{StateError, StateView};
use crate::write_log::Op;

/// One canister's state, with writes applied one by one as one-at-a-time execution in
/// seq order defines them (`docs/modes.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Model {
    counters: BTreeMap<(Vec<u8>, Vec<u8>), i128>,
    maps: BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>>,
    lists: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    /// When set, every read fails with this message.
    pub(crate) fail: Option<String>,
}

impl Model {
    /// Applies `op`.
    pub(crate) fn apply(&mut self, op: &Op) {
        match op.clone() {
            Op::CounterAdd { name, key, delta } => {
                let sum = self.counters.entry((name, key)).or_default();
                *sum = sum.wrapping_add(i128::from(delta));
            }
            Op::MapPut { name, key, value } => {
                self.maps.insert((name, key), value);
            }
            Op::MapRemove { name, key } => {
                self.maps.remove(&(name, key));
            }
            Op::ListPush { name, value } => self.lists.entry(name).or_default().push(value),
        }
    }

    /// Applies every op of `ops`.
    pub(crate) fn applied<'a>(mut self, ops: impl IntoIterator<Item = &'a Op>) -> Model {
        for op in ops {
            self.apply(op);
        }
        self
    }

    fn check(&self) -> Result<(), StateError> {
        match &self.fail {
            Some(message) => Err(StateError(message.clone())),
            None => Ok(()),
        }
    }
}

impl StateView for Model {
    fn counter_get(&self, name: &[u8], key: &[u8]) -> Result<i128, StateError> {
        self.check()?;
        let id = (name.to_vec(), key.to_vec());
        Ok(self.counters.get(&id).copied().unwrap_or(0))
    }

    fn map_get(&self, name: &[u8], key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.check()?;
        Ok(self.maps.get(&(name.to_vec(), key.to_vec())).cloned())
    }

    fn map_next_key(
        &self,
        name: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StateError> {
        self.check()?;
        let start = match after {
            Some(after) => Bound::Excluded((name.to_vec(), after.to_vec())),
            None => Bound::Included((name.to_vec(), Vec::new())),
        };
        Ok(self
            .maps
            .range((start, Bound::Unbounded))
            .next()
            .filter(|((n, _), _)| n == name)
            .map(|((_, key), _)| key.clone()))
    }

    fn list_len(&self, name: &[u8]) -> Result<u64, StateError> {
        self.check()?;
        Ok(self.lists.get(name).map_or(0, Vec::len) as u64)
    }

    fn list_get(&self, name: &[u8], i: u64) -> Result<Option<Vec<u8>>, StateError> {
        self.check()?;
        Ok(self
            .lists
            .get(name)
            .and_then(|list| list.get(usize::try_from(i).ok()?))
            .cloned())
    }
}
