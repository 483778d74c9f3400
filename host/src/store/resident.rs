//! The resident state: every record of the `s` area, in memory, in sled's key order.
//!
//! A commit used to land as sled inserts, one per key (~3 µs each, and more in a larger
//! tree): for a logging call, four of them, more than the call's own wasm. Now the state
//! lives here, a commit's `s` writes are B-tree inserts in memory, and sled sees a round
//! only as its journal (`store/journal.rs`); the state reaches sled whole, in a few
//! large chunks, at each checkpoint (`store/checkpoint.rs`). Reads never walk sled's tree
//! for state.
//!
//! # Invariants
//!
//! - (R) Whenever its gate is open to readers, the resident state holds exactly the `s`
//!   records that the last checkpoint, then every journal after it that has been settled
//!   (flushed, J2), leave, byte for byte: the records the per-key layout of the store's
//!   module doc describes. Loaded at open, then changed only by [`Resident::apply`] with a
//!   settled journal's writes, or by [`Resident::apply_undoable`] with those of a journal
//!   whose flush is under way, the gate held until it ends, and [`Resident::undo`] if it
//!   failed.
//! - `bytes` is the sum of the lengths of its keys and values.
//! - (G) A land grows at most one shard's table before hashbrown would: the fullest of
//!   those it takes past 3/4 of their capacity. The shards fill at the same pace, so left
//!   to hashbrown all 16 tables grew in the same land (at 7/8): that land re-inserted the
//!   whole state on the commit's path, a pause that doubles with the state. Grown one a
//!   land from 3/4, a table that takes more than 16 lands to fill its last eighth (a large
//!   one) grows in a land of its own, which re-inserts a sixteenth of the state; small
//!   tables still grow together, cheaply. 80 ticks of 3,000 logging calls at 2 threads
//!   (the state growing to 1.2 M records): the longest took 93–98 ms before, against
//!   medians of 27–34 ms, and 43–57 ms with (G).

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::{Mutex, PoisonError};

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use rayon::prelude::*;
use sled::IVec;

use super::journal::Write;
use super::StoreError;
use crate::store::area;

/// The shards the records are split into by the hash of their key, so that a settled
/// journal lands on every worker at once: a round of logging calls writes ~5 new records a
/// call, and landing them one by one on one thread was ~40% of a round's commit, which no
/// other core could help with.
const SHARDS: usize = 16;

/// Below this many writes a journal lands on the calling thread: splitting costs a few µs.
pub(super) const PARALLEL_MIN: usize = 512;

/// The `s` records, keyed as in sled (invariant R).
///
/// Hash tables hold them all, for the point reads and writes of every read and commit:
/// O(1) however large the state (a B-tree costs a commit a walk of ~log n keys, each a cache
/// miss, for every write: 4× slower per write at 10^6 entries than at 10^4). Only map
/// entries, which `map_next_key` walks in order, also sit in ordered sets, one per map
/// (their key bytes shared, `IVec`s being reference counted), ordered by what follows the
/// map's prefix, so that a comparison never reads the prefix all its keys share; counters
/// and lists are read by key alone, and a scan over them (a dump, a checkpoint, `verify`)
/// sorts what it takes.
///
/// A key's shard is picked by bits of its hash that neither the tables' bucket index nor
/// their tags use, so that the one hash serves both and each shard's table stays as well
/// spread as one table would be.
#[derive(Clone)]
pub(crate) struct Resident {
    hasher: DefaultHashBuilder,
    shards: Vec<Shard>,
}

/// One shard of the records: those whose key hashes to it.
#[derive(Clone, Default)]
struct Shard {
    /// Key, value, and the key's hash, kept so that growing the table hashes no key again.
    records: HashTable<(IVec, IVec, u64)>,
    /// The keys of map entries, by map scope (`'s' ‖ canister ‖ 'm' ‖ name`, as laid out).
    maps: HashMap<IVec, MapKeys>,
    bytes: usize,
}

/// The keys of one map in one shard, put in order only when a read asks for the order
/// (`map_next_key`, which only updates and queries make). Logging writes a new map key a
/// call and never walks the map: kept sorted on every write, the B-tree insert with its
/// key comparisons was a tenth of a logging call's commit, paid on the commit's path.
/// A read sorts what arrived since the last, under the lock, which only reads contend
/// for: a writer holds the shard exclusively.
#[derive(Debug, Default)]
struct MapKeys(Mutex<Keys>);

/// [`MapKeys`]' keys: `sorted`, and `fresh` ones in arrival order, none of them in `sorted`.
#[derive(Debug, Default, Clone)]
struct Keys {
    sorted: BTreeSet<Rest>,
    fresh: Vec<Rest>,
}

impl Keys {
    /// Folds the fresh keys into the sorted ones.
    fn sort(&mut self) -> &BTreeSet<Rest> {
        if !self.fresh.is_empty() {
            self.sorted.extend(self.fresh.drain(..));
        }
        &self.sorted
    }
}

impl MapKeys {
    fn keys(&mut self) -> &mut Keys {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every key, in no particular order.
    fn all(&self) -> Vec<IVec> {
        let keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (keys.sorted.iter().chain(&keys.fresh))
            .map(|rest| rest.key.clone())
            .collect()
    }

    /// The least key after `from`, as a [`Rest`].
    fn first_after(&self, from: Bound<&[u8]>) -> Option<Rest> {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let sorted = keys.sort();
        sorted
            .range::<[u8], _>((from, Bound::Unbounded))
            .next()
            .cloned()
    }
}

impl Clone for MapKeys {
    fn clone(&self) -> Self {
        let keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        MapKeys(Mutex::new(keys.clone()))
    }
}

/// A map entry's key, compared (and borrowed) as what follows its map's scope: within one
/// map that is the order of the whole keys.
#[derive(Clone, Debug)]
struct Rest {
    key: IVec,
    at: usize,
}

impl Borrow<[u8]> for Rest {
    fn borrow(&self) -> &[u8] {
        &self.key[self.at..]
    }
}

impl PartialEq for Rest {
    fn eq(&self, other: &Rest) -> bool {
        <Rest as Borrow<[u8]>>::borrow(self) == <Rest as Borrow<[u8]>>::borrow(other)
    }
}

impl Eq for Rest {}

impl PartialOrd for Rest {
    fn partial_cmp(&self, other: &Rest) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rest {
    fn cmp(&self, other: &Rest) -> std::cmp::Ordering {
        <Rest as Borrow<[u8]>>::borrow(self).cmp(<Rest as Borrow<[u8]>>::borrow(other))
    }
}

impl Default for Resident {
    fn default() -> Self {
        Resident {
            hasher: DefaultHashBuilder::default(),
            shards: vec![Shard::default(); SHARDS],
        }
    }
}

impl fmt::Debug for Resident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resident")
            .field("records", &self.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// Equal when they hold the same records, whatever their hashers.
impl PartialEq for Resident {
    fn eq(&self, other: &Resident) -> bool {
        fn maps(r: &Resident) -> Vec<IVec> {
            let mut all: Vec<IVec> = (r.shards.iter())
                .flat_map(|s| s.maps.values().flat_map(MapKeys::all))
                .collect();
            all.sort_unstable();
            all
        }
        self.len() == other.len()
            && self.bytes() == other.bytes()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
            && maps(self) == maps(other)
    }
}

impl Eq for Resident {}

/// Whether `key` is a record of the state (the `s` area), which lives here, not in sled.
pub(crate) fn is_state(key: &[u8]) -> bool {
    key.first() == Some(&area::STATE)
}

/// The length of the scope of `key`, if it is a map entry's: where its map key starts.
fn map_scope_len(key: &[u8]) -> Option<usize> {
    let (_, kind, _, rest) = super::parse_state_key(key)?;
    (kind == super::MAP).then(|| key.len() - rest.len())
}

/// The shard of a key with hash `hash`: bits 40.., above any bucket index a table of
/// fewer than 2^40 buckets uses and below the 7 top bits that tag its entries.
fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
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

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The record at `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&IVec> {
        self.get_hashed(self.hash(key), key)
    }

    /// The records at `keys`, in order. The hashes come first, then the lookups back to
    /// back with nothing between them, so that in a state larger than the caches their
    /// misses overlap instead of following one another.
    pub(crate) fn get_many<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Vec<Option<&IVec>> {
        let hashed: Vec<(u64, &[u8])> = keys.into_iter().map(|k| (self.hash(k), k)).collect();
        hashed
            .into_iter()
            .map(|(hash, key)| self.get_hashed(hash, key))
            .collect()
    }

    fn get_hashed(&self, hash: u64, key: &[u8]) -> Option<&IVec> {
        self.shards[shard_of(hash)]
            .records
            .find(hash, |(k, _, h)| *h == hash && &k[..] == key)
            .map(|(_, value, _)| value)
    }

    /// The least key of map `scope` (`'s' ‖ canister ‖ 'm' ‖ name`, as laid out) after
    /// `after`, or its first with none, without the scope: the least of each shard's.
    pub(crate) fn map_key_after(&self, scope: &[u8], after: Option<&[u8]>) -> Option<Vec<u8>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.shards
            .iter()
            .filter_map(|shard| shard.maps.get(scope)?.first_after(from))
            .min()
            .map(|rest| <Rest as Borrow<[u8]>>::borrow(&rest).to_vec())
    }

    /// The keys under `prefix`, in order: O(state), for scans.
    pub(crate) fn keys_under(&self, prefix: &[u8]) -> Vec<IVec> {
        let mut keys: Vec<IVec> = (self.shards.iter())
            .flat_map(|shard| shard.records.iter())
            .filter(|(key, _, _)| key.starts_with(prefix))
            .map(|(key, _, _)| key.clone())
            .collect();
        keys.sort_unstable();
        keys
    }

    /// The records under `prefix`, in key order: O(state), for scans.
    pub(crate) fn prefixed(&self, prefix: &[u8]) -> Vec<(IVec, &IVec)> {
        let mut records: Vec<(IVec, &IVec)> = self
            .shards
            .iter()
            .flat_map(|shard| shard.records.iter())
            .filter(|(key, _, _)| key.starts_with(prefix))
            .map(|(key, value, _)| (key.clone(), value))
            .collect();
        records.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        records
    }

    /// Every record, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &IVec)> {
        self.shards
            .iter()
            .flat_map(|shard| shard.records.iter().map(|(k, v, _)| (&k[..], v)))
    }

    /// How many records it holds.
    fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.records.len()).sum()
    }

    /// The bytes of its keys and values.
    pub(crate) fn bytes(&self) -> usize {
        self.shards.iter().map(|shard| shard.bytes).sum()
    }

    /// Sets `key` to `value` (`None`: removes it).
    fn set(&mut self, key: &[u8], value: Option<&IVec>) {
        let hash = self.hash(key);
        self.shards[shard_of(hash)].set(hash, key, value);
    }

    /// Lands the `s` writes of a settled journal, in order (R); writes to other areas are
    /// sled's and skipped.
    pub(crate) fn apply(&mut self, writes: &[Write]) {
        self.land(writes, false, true);
    }

    /// [`Resident::apply`] on the calling thread alone, for a caller whose pool is busy
    /// with other work: split, its workers would wait for the halves they gave away by
    /// running that work, holding whatever the caller holds.
    pub(crate) fn apply_here(&mut self, writes: &[Write]) {
        self.land(writes, false, false);
    }

    /// [`Resident::apply`], keeping what each write replaced, so that [`Resident::undo`]
    /// can take the journal back out if it never becomes durable.
    pub(crate) fn apply_undoable(&mut self, writes: &[Write]) -> Undo {
        Undo(self.land(writes, true, true))
    }

    /// Takes back out the `writes` that [`Resident::apply_undoable`] landed, with `undo`
    /// what it returned, the journals landed after them already taken out: the records are
    /// as before it, byte for byte, and so are the map key sets.
    pub(crate) fn undo(&mut self, writes: &[Write], undo: Undo) {
        for (shard, replaced) in self.shards.iter_mut().zip(undo.0) {
            // A key's writes are all in its shard, so each shard's own reverse order
            // takes them out last first.
            for (at, old) in replaced.into_iter().rev() {
                let key = &writes[at].0;
                let hash = self.hasher.hash_one(&key[..]);
                shard.set(hash, key, old.as_ref());
            }
        }
    }

    /// Lands `writes`' `s` writes, in order; with `keep`, returns for each shard the index
    /// of each write it took and the value the write replaced (`None`: there was none).
    /// With `split`, on a worker of a pool, a large journal lands on every shard at once: a
    /// key's writes all go to its shard, in order, so the outcome is the same.
    fn land(
        &mut self,
        writes: &[Write],
        keep: bool,
        split: bool,
    ) -> Vec<Vec<(usize, Option<IVec>)>> {
        let state = writes
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| is_state(key));
        let mut parts: Vec<Vec<(u64, usize)>> = vec![Vec::new(); SHARDS];
        for (at, (key, _)) in state {
            let hash = self.hash(key);
            parts[shard_of(hash)].push((hash, at));
        }
        // (G): of the shards this land takes past 3/4 full, the fullest grows first.
        let early = (self.shards.iter().zip(&parts).enumerate())
            .filter_map(|(index, (shard, part))| Some((shard.due(part.len())?, index)))
            .max_by_key(|&(full, index)| (full, std::cmp::Reverse(index)))
            .map(|(_, index)| index);
        let land = |((index, shard), part): ((usize, &mut Shard), Vec<(u64, usize)>)| {
            if early == Some(index) {
                shard.grow();
            }
            let mut replaced = Vec::with_capacity(if keep { part.len() } else { 0 });
            for (hash, at) in part {
                let (key, value) = &writes[at];
                let old = shard.set(hash, key, value.as_ref());
                if keep {
                    replaced.push((at, old));
                }
            }
            replaced
        };
        if !split || writes.len() < PARALLEL_MIN || rayon::current_thread_index().is_none() {
            (self.shards.iter_mut().enumerate())
                .zip(parts)
                .map(land)
                .collect()
        } else {
            (self.shards.par_iter_mut().enumerate())
                .zip(parts)
                .map(land)
                .collect()
        }
    }
}

/// What [`Resident::apply_undoable`] replaced: for each shard, the index of each write it
/// landed there, in order, and the value that write replaced.
#[derive(Debug)]
pub(crate) struct Undo(Vec<Vec<(usize, Option<IVec>)>>);

/// The smallest table [`Resident::land`] grows before hashbrown would (G): below it a
/// table's growth costs less than the rest of a round.
const EARLY_GROWTH_MIN: usize = 1 << 10;

impl Shard {
    /// How full the table would be after `incoming` more records, in 1/1024ths of its
    /// capacity, if that is past 3/4 of a capacity of [`EARLY_GROWTH_MIN`] or more: a
    /// shard [`Resident::land`] may grow early (G).
    fn due(&self, incoming: usize) -> Option<usize> {
        let capacity = self.records.capacity();
        let after = self.records.len() + incoming;
        (capacity >= EARLY_GROWTH_MIN && after > capacity / 4 * 3).then(|| after * 1024 / capacity)
    }

    /// Doubles the table now, before hashbrown would (G).
    fn grow(&mut self) {
        // Room for one more than its capacity: the next power of two of buckets.
        let more = self.records.capacity() + 1 - self.records.len();
        self.records.reserve(more, |(_, _, hash)| *hash);
    }

    /// Sets `key`, whose hash is `hash`, to `value` (`None`: removes it). Returns the
    /// value it replaced, if any.
    fn set(&mut self, hash: u64, key: &[u8], value: Option<&IVec>) -> Option<IVec> {
        let same = |(k, _, h): &(IVec, IVec, u64)| *h == hash && &k[..] == key;
        match value {
            Some(value) => match self.records.entry(hash, same, |(_, _, h)| *h) {
                Entry::Occupied(mut slot) => {
                    let old = std::mem::replace(&mut slot.get_mut().1, value.clone());
                    self.bytes = self.bytes + value.len() - old.len();
                    Some(old)
                }
                Entry::Vacant(slot) => {
                    let key = IVec::from(key);
                    self.bytes += key.len() + value.len();
                    if let Some(at) = map_scope_len(&key) {
                        let rest = Rest {
                            key: key.clone(),
                            at,
                        };
                        match self.maps.get_mut(&key[..at]) {
                            Some(keys) => keys.keys().fresh.push(rest),
                            None => {
                                let mut keys = MapKeys::default();
                                keys.keys().fresh.push(rest);
                                self.maps.insert(IVec::from(&key[..at]), keys);
                            }
                        }
                    }
                    slot.insert((key, value.clone(), hash));
                    None
                }
            },
            None => {
                let slot = self.records.find_entry(hash, same).ok()?;
                {
                    let ((key, old, _), _) = slot.remove();
                    self.bytes -= key.len() + old.len();
                    if let Some(at) = map_scope_len(&key) {
                        if let Some(keys) = self.maps.get_mut(&key[..at]) {
                            let keys = keys.keys();
                            keys.sort();
                            keys.sorted.remove(&key[at..]);
                            if keys.sorted.is_empty() {
                                self.maps.remove(&key[..at]);
                            }
                        }
                    }
                    Some(old)
                }
            }
        }
    }
}

#[cfg(test)]
mod laws {
    //! Invariant R as quickcheck properties: after any rounds, checkpoints, kills and
    //! reopenings, the resident state equals what a fresh open of the same tree loads; and
    //! replaying journals already applied changes nothing. Invariant G as a test of the
    //! tables' growth.

    use super::{Resident, Write, PARALLEL_MIN, SHARDS};
    use crate::merge::laws::{quickcheck, Calls, Shape};
    use crate::merge::Delta;
    use crate::store::{scoped, Store, COUNTER, LIST, MAP};

    /// A journal landed on a pool, split by shard, leaves what landing it write by write
    /// leaves: the same records, the same map order, whatever the keys' shards. Keys are
    /// drawn from a few hundred so that writes to one key (sets and removals) follow each
    /// other, and the journal is repeated past the size that splits it.
    #[test]
    fn prop_map_keys_put_in_order_only_when_read_walk_as_an_ordered_set() {
        // Each step writes (Some) or removes (None) a key of one map, and, when `walk`,
        // walks the map from a key: the walk folds the keys written since the last into
        // the order, so any interleaving of writes, removes and walks is covered.
        fn prop(steps: Vec<(u8, Option<u8>, bool)>) -> bool {
            let scope = scoped("c", MAP, b"m", b"");
            let mut resident = Resident::default();
            let mut model = std::collections::BTreeSet::new();
            steps.iter().all(|&(key, value, walk)| {
                let at = scoped("c", MAP, b"m", &[key]);
                let value = value.map(|v| sled::IVec::from(&[v][..]));
                resident.set(&at, value.as_ref());
                match value {
                    Some(_) => model.insert(vec![key]),
                    None => model.remove(&vec![key]),
                };
                let from = [key.wrapping_mul(7)];
                !walk
                    || (resident.map_key_after(&scope, Some(&from))
                        == model
                            .range(from.to_vec()..)
                            .find(|k| k[..] != from)
                            .cloned()
                        && resident.map_key_after(&scope, None) == model.first().cloned())
            })
        }
        quickcheck().quickcheck(prop as fn(Vec<(u8, Option<u8>, bool)>) -> bool);
    }

    /// (G): fed journals of new records, as a logging backlog feeds it, the shards' large
    /// tables grow one a land. Left to hashbrown, the shards, which fill at the same pace,
    /// grew in the same land or two.
    #[test]
    fn large_tables_grow_in_lands_of_their_own() {
        const LAND: u32 = 1_200;
        // A table this large takes more than 16 lands to fill its last eighth.
        let large = 16 * 8 * LAND as usize / SHARDS;
        let mut resident = Resident::default();
        let (mut most, mut total) = (0, 0);
        let value = sled::IVec::from(&b"1"[..]);
        for land in 0..200u32 {
            let journal: Vec<Write> = (0..LAND)
                .map(|i| {
                    let key = (land * LAND + i).to_be_bytes();
                    (scoped("c", COUNTER, b"n", &key), Some(value.clone()))
                })
                .collect();
            let capacity = |r: &Resident| -> Vec<usize> {
                r.shards.iter().map(|s| s.records.capacity()).collect()
            };
            let before = capacity(&resident);
            resident.apply_here(&journal);
            let grown = (capacity(&resident).iter().zip(&before))
                .filter(|(now, was)| **was >= large && now > was)
                .count();
            most = most.max(grown);
            total += grown;
        }
        assert!(total >= SHARDS, "only {total} large tables grew");
        assert_eq!(most, 1, "{most} large tables grew in one land");
    }

    /// Drawn writes: (kind, key, value or removal).
    type Writes = Vec<(u8, u8, Option<u8>)>;

    /// A journal of `writes`, repeated until it holds at least `len` (each repetition with
    /// other keys half the time), over a few structures of each kind; `salt` marks its
    /// values.
    fn journal(writes: &[(u8, u8, Option<u8>)], salt: u8, len: usize) -> Vec<Write> {
        let kinds = [COUNTER, MAP, LIST];
        let mut journal = Vec::new();
        while journal.len() < len && !writes.is_empty() {
            for (i, (kind, key, value)) in writes.iter().enumerate() {
                let name = [b'n', *key % 3];
                let key = [*key, (journal.len() / writes.len()) as u8 % 2];
                let at = scoped("c", kinds[usize::from(*kind) % 3], &name, &key);
                let value = value.map(|v| sled::IVec::from(&[v, i as u8, salt][..]));
                journal.push((at, value));
            }
        }
        journal
    }

    /// Whether `a` and `b` hold the same records, and walk one map in the same order.
    fn same(a: &Resident, b: &Resident) -> bool {
        let scope = scoped("c", MAP, b"n\x01", b"");
        let walk = |r: &Resident| {
            let mut keys = Vec::new();
            while let Some(key) = r.map_key_after(&scope, keys.last().map(Vec::as_slice)) {
                keys.push(key.to_vec());
            }
            keys
        };
        a == b && walk(a) == walk(b) && a.prefixed(b"s") == b.prefixed(b"s")
    }

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap()
    }

    #[test]
    fn prop_a_journal_split_across_a_pool_lands_as_in_order() {
        fn prop(writes: Writes) -> bool {
            let journal = journal(&writes, 0, 2 * PARALLEL_MIN);
            let mut in_order = Resident::default();
            in_order.apply(&journal);
            let mut split = Resident::default();
            pool().install(|| split.apply(&journal));
            // On a pool, but asked to stay on the calling thread.
            let mut here = Resident::default();
            pool().install(|| here.apply_here(&journal));
            same(&in_order, &split) && same(&in_order, &here)
        }
        quickcheck().quickcheck(prop as fn(Writes) -> bool);
    }

    /// Journals landed with [`Resident::apply_undoable`], on a pool or not, then undone
    /// last first, leave the records and the map order exactly as before them, whatever
    /// they set, replaced or removed: what a failed flush must leave (J2).
    #[test]
    fn prop_journals_undone_leave_the_state_as_before_them() {
        fn prop(before: Writes, first: Writes, second: Writes, big: bool) -> bool {
            let len = if big { 2 * PARALLEL_MIN } else { 1 };
            let before = journal(&before, 0, 1);
            let journals = [journal(&first, 1, len), journal(&second, 2, 1)];
            let mut expected = Resident::default();
            expected.apply(&before);
            let mut state = Resident::default();
            state.apply(&before);
            pool().install(|| {
                let undo: Vec<_> = journals.iter().map(|j| state.apply_undoable(j)).collect();
                for (j, undo) in journals.iter().zip(undo).rev() {
                    state.undo(j, undo);
                }
            });
            same(&state, &expected)
        }
        quickcheck().quickcheck(prop as fn(Writes, Writes, Writes, bool) -> bool);
    }

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
