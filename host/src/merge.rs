//! Merging write logs: the [`Delta`] of a set of calls (`docs/modes.md`).
//!
//! A round runs many pure calls at once; each leaves a [`WriteLog`]. This module folds the
//! logs of a set of calls, each tagged with its `seq` and canister, into one [`Delta`]: the
//! net effect those calls have on the stable structures, which [`crate::store`] commits.
//!
//! # The merge rules
//!
//! Every op is stamped with its *clock* `(seq, index)`: the call's seq and the op's index
//! within that call's log (0-based, counting every op).
//!
//! | structure | entry | rule |
//! | --- | --- | --- |
//! | counter | `(canister, name, key)` | the exact sum of the deltas, as `i128`, wrapping at 2^127 |
//! | map | `(canister, name, key)` | the op with the highest clock wins; a remove is a tombstone that wins the same way |
//! | list | `(canister, name, seq, index)` | a bag: every push is its own element, ordered by its clock |
//!
//! # The law
//!
//! The merged [`Delta`] is a function of the *set* of `(seq, canister, log)` calls alone:
//! [`Delta::merge`] is commutative and associative, because each rule is (wrapping addition
//! of `i128`, the max of distinct clocks, and the union of disjoint bags). Clocks are
//! distinct because seqs are: a delta knows the seqs it holds and refuses to merge with a
//! delta that shares one ([`MergeError::DuplicateSeq`]), so no call is ever counted twice.
//! Everything is kept in `BTreeMap`s (nested by canister, name and key, so that an op on an
//! entry already held allocates nothing), so no hash order can reach the state. Their byte
//! strings compare in line, in `[u8]`'s order (`merge/bytes.rs`).
//!
//! # Decisions
//!
//! - A counter entry whose merged delta sums to 0 is dropped from the delta: it changes
//!   nothing. Likewise the store keeps no counter whose value is 0 (reads give 0 either
//!   way), so state stays canonical and the root is a function of observable state.
//! - A call with an empty log (or a trapped call, whose log is dropped) still contributes
//!   its seq, so committing the delta marks that seq as done.
//!
//! This module imports only [`crate::write_log`]; its tests reach downstream into
//! [`crate::store`] to check the committed state.

use std::cmp::Ordering;
use std::collections::{btree_map, BTreeMap, BTreeSet};

use thiserror::Error;

use crate::write_log::{Op, WriteLog};
use bytes::{Bytes, Owned, Text};

mod bytes;

/// Two deltas could not be merged.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MergeError {
    /// Both deltas hold the writes of call `seq`; merging would count them twice.
    #[error("seq {seq} is in both deltas: a call's writes are merged once, never twice")]
    DuplicateSeq {
        /// The smallest seq the two deltas share.
        seq: u64,
    },
}

/// Values by canister, then structure name, then `K` (an entry's key, or a list element's
/// clock), in that order. Nested rather than keyed by `(canister, name, key)` tuples so that
/// an op on an entry already held is found from the op's own slices, with no allocation:
/// a round adds to the same few entries again and again. No inner map is ever left empty,
/// so equal contents are equal values.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Nested<K, V>(BTreeMap<Text, BTreeMap<Owned, BTreeMap<K, V>>>);

impl<K, V> Default for Nested<K, V> {
    fn default() -> Self {
        Nested(BTreeMap::new())
    }
}

impl<K: Ord, V> Nested<K, V> {
    /// `f` of the entries of structure `name` of `canister`, made if missing: `f` leaves
    /// at least one in it, or the caller calls [`Nested::prune`]. One search per level when
    /// the structure is held (a closure rather than a returned borrow, which the borrow
    /// checker would only take with a second search).
    fn with_slot<R>(
        &mut self,
        canister: &str,
        name: &[u8],
        f: impl FnOnce(&mut BTreeMap<K, V>) -> R,
    ) -> R {
        let names = match self.0.get_mut(Bytes::new(canister.as_bytes())) {
            Some(names) => names,
            None => self.0.entry(Text(canister.to_owned())).or_default(),
        };
        let entries = match names.get_mut(Bytes::new(name)) {
            Some(entries) => entries,
            None => names.entry(Owned(name.to_vec())).or_default(),
        };
        f(entries)
    }

    /// Drops the entries of `name` of `canister`, and the canister's, if empty.
    fn prune(&mut self, canister: &str, name: &[u8]) {
        let canister = Bytes::new(canister.as_bytes());
        if let Some(names) = self.0.get_mut(canister) {
            if names.get(Bytes::new(name)).is_some_and(BTreeMap::is_empty) {
                names.remove(Bytes::new(name));
            }
            if names.is_empty() {
                self.0.remove(canister);
            }
        }
    }

    /// Moves `other`'s entries into `self`; where both hold a key, `both(mine, theirs)`
    /// combines them and says whether the entry stays. A canister or name only `other`
    /// holds moves over whole.
    fn absorb(&mut self, other: Nested<K, V>, mut both: impl FnMut(&mut V, V) -> bool) {
        for (canister, names) in other.0 {
            let mut mine = match self.0.entry(canister) {
                btree_map::Entry::Vacant(slot) => {
                    slot.insert(names);
                    continue;
                }
                btree_map::Entry::Occupied(slot) => slot,
            };
            for (name, entries) in names {
                match mine.get_mut().entry(name) {
                    btree_map::Entry::Vacant(slot) => {
                        slot.insert(entries);
                    }
                    btree_map::Entry::Occupied(mut slot) => {
                        join(slot.get_mut(), entries, &mut both);
                        if slot.get().is_empty() {
                            slot.remove();
                        }
                    }
                }
            }
            if mine.get().is_empty() {
                mine.remove();
            }
        }
    }

    fn len(&self) -> usize {
        self.0
            .values()
            .flat_map(BTreeMap::values)
            .map(BTreeMap::len)
            .sum()
    }

    /// Every value with its canister, name and `K`, in that order.
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8], &K, &V)> {
        self.0.iter().flat_map(|(canister, names)| {
            names.iter().flat_map(move |(name, inner)| {
                inner
                    .iter()
                    .map(move |(k, v)| (canister.0.as_str(), name.0.as_slice(), k, v))
            })
        })
    }
}

/// Moves `theirs` into `mine`; where both hold a key, `both(mine, theirs)` combines the
/// values and says whether the entry stays. The result is the same whichever way it is
/// done (`laws::prop_join_either_way_is_the_same`), so the cheaper is picked: m key by
/// key insertions into n entries cost O(m log n), a walk of both in order that builds
/// the result in bulk O(n + m). A round's calls fold into a delta per worker, and the
/// reduce that joins those is serial: at two workers of logging calls, inserting one
/// half of a round into the other was ~270 ns a call.
fn join<K: Ord, V>(
    mine: &mut BTreeMap<K, V>,
    theirs: BTreeMap<K, V>,
    both: impl FnMut(&mut V, V) -> bool,
) {
    if by_insertion(mine.len(), theirs.len()) {
        insert_each(mine, theirs, both);
    } else {
        walk_both(mine, theirs, both);
    }
}

/// [`join`] key by key.
fn insert_each<K: Ord, V>(
    mine: &mut BTreeMap<K, V>,
    theirs: BTreeMap<K, V>,
    mut both: impl FnMut(&mut V, V) -> bool,
) {
    for (key, value) in theirs {
        match mine.entry(key) {
            btree_map::Entry::Vacant(slot) => {
                slot.insert(value);
            }
            btree_map::Entry::Occupied(mut slot) => {
                if !both(slot.get_mut(), value) {
                    slot.remove();
                }
            }
        }
    }
}

/// [`join`] by one walk of both in key order.
fn walk_both<K: Ord, V>(
    mine: &mut BTreeMap<K, V>,
    theirs: BTreeMap<K, V>,
    mut both: impl FnMut(&mut V, V) -> bool,
) {
    let mut out = Vec::with_capacity(mine.len() + theirs.len());
    let mut a = std::mem::take(mine).into_iter().peekable();
    let mut b = theirs.into_iter().peekable();
    loop {
        let order = match (a.peek(), b.peek()) {
            (Some((x, _)), Some((y, _))) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match (
            order,
            a.next_if(|_| order.is_le()),
            b.next_if(|_| order.is_ge()),
        ) {
            (Ordering::Equal, Some((key, mut held)), Some((_, value))) => {
                if both(&mut held, value) {
                    out.push((key, held));
                }
            }
            (_, one, other) => out.extend(one.or(other)),
        }
    }
    // Sorted and unique already, so `collect` builds the tree in bulk, in O(n + m).
    *mine = out.into_iter().collect();
}

/// Whether [`join`] inserts m entries one by one into n rather than walking both: when
/// m · log2(n) is below n + m.
fn by_insertion(n: usize, m: usize) -> bool {
    let log_n = (usize::BITS - n.leading_zeros()) as usize;
    m.saturating_mul(log_n) < n + m
}

/// The net effect of a set of calls on the stable structures.
///
/// # Invariants
///
/// - (A) Every clock `(seq, _)` in `maps` and every `seq` in `lists` is in `seqs`.
/// - (B) No counter entry holds 0.
///
/// Both are kept by [`Delta::from_call`] and [`Delta::merge`], the only ways to build one.
///
/// # Examples
///
/// ```
/// use commute::merge::Delta;
/// use commute::write_log::WriteLog;
///
/// let mut first = WriteLog::default();
/// first.counter_add(b"views", b"/home", 2)?;
/// first.map_put(b"last", b"ann", b"login")?;
/// let mut second = WriteLog::default();
/// second.counter_add(b"views", b"/home", 3)?;
/// second.map_put(b"last", b"ann", b"logout")?;
///
/// // Merge order does not matter; the higher seq wins the map entry.
/// let a = Delta::from_call(8, "logger", &second).merged(Delta::from_call(7, "logger", &first))?;
/// let b = Delta::from_call(7, "logger", &first).merged(Delta::from_call(8, "logger", &second))?;
/// assert_eq!(a, b);
/// let views: Vec<i128> = a.counters().map(|c| c.delta).collect();
/// assert_eq!(views, [5]);
/// let last: Vec<Option<&[u8]>> = a.maps().map(|m| m.value).collect();
/// assert_eq!(last, [Some(&b"logout"[..])]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    seqs: BTreeSet<u64>,
    counters: Nested<Owned, i128>,
    maps: Nested<Owned, Stamped>,
    /// List elements by clock `(seq, index)`.
    lists: Nested<(u64, u32), Vec<u8>>,
}

/// A map write with the clock that orders it; `value: None` is a tombstone.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamped {
    clock: (u64, u32),
    value: Option<Vec<u8>>,
}

impl Stamped {
    /// The map rule: of two writes to one entry, the one with the higher clock stays.
    /// Clocks are distinct across deltas with disjoint seqs (A), and within a call.
    /// Always keeps the entry (a tombstone is a write too), for [`Nested::absorb`].
    fn keep_later(&mut self, theirs: Stamped) -> bool {
        if self.clock <= theirs.clock {
            *self = theirs;
        }
        true
    }
}

/// The counter rule: `add` summed into `sum`, wrapping at 2^127; whether the entry stays,
/// which it does not once it sums to 0 (B).
fn add_to(sum: &mut i128, add: i128) -> bool {
    *sum = sum.wrapping_add(add);
    *sum != 0
}

/// A counter entry's net change in a [`Delta`]; never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterChange<'a> {
    /// The canister whose counter it is.
    pub canister: &'a str,
    /// The counter's name.
    pub name: &'a [u8],
    /// The entry within the counter.
    pub key: &'a [u8],
    /// The sum of the deltas, to add (wrapping) to the committed value.
    pub delta: i128,
}

/// A map entry's final write in a [`Delta`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapChange<'a> {
    /// The canister whose map it is.
    pub canister: &'a str,
    /// The map's name.
    pub name: &'a [u8],
    /// The key written.
    pub key: &'a [u8],
    /// The winning value, or `None` when the winning write is a remove.
    pub value: Option<&'a [u8]>,
}

/// One list push in a [`Delta`], stored under `(seq, index)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListAppend<'a> {
    /// The canister whose list it is.
    pub canister: &'a str,
    /// The list's name.
    pub name: &'a [u8],
    /// The seq of the call that pushed it.
    pub seq: u64,
    /// The index of the push among all ops of that call.
    pub index: u32,
    /// The value pushed.
    pub value: &'a [u8],
}

impl Delta {
    /// The empty delta: no call, no write. The identity of [`Delta::merge`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(commute::merge::Delta::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Delta::default()
    }

    /// The delta of one call: call `seq` of `canister` emitted `log`. A trapped call
    /// contributes an empty log, so its seq is still marked done when the delta commits.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.map_put(b"m", b"k", b"old")?;
    /// log.map_put(b"m", b"k", b"new")?; // within a call, the later op wins
    /// let delta = Delta::from_call(1, "c", &log);
    /// assert_eq!(delta.maps().next().unwrap().value, Some(&b"new"[..]));
    /// assert_eq!(delta.seqs().iter().copied().collect::<Vec<_>>(), [1]);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn from_call(seq: u64, canister: &str, log: &WriteLog) -> Self {
        let mut delta = Delta::default();
        delta
            .add_call(seq, canister, log)
            .expect("an empty delta holds no seq");
        delta
    }

    /// Folds call `seq` of `canister`, which emitted `log`, straight into `self`:
    /// `self ⊕ δ(call)` without building `δ(call)` first (law
    /// `prop_add_call_is_merging_its_delta`). A round folds its calls this way, so each
    /// op costs one search of the round's tree, not a tree of its own and a second search.
    ///
    /// # Errors
    ///
    /// [`MergeError::DuplicateSeq`] if `self` already holds `seq`; `self` is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::{Delta, MergeError};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"hits", b"", 1)?;
    /// let mut round = Delta::new();
    /// round.add_call(1, "c", &log)?;
    /// round.add_call(2, "c", &log)?;
    /// assert_eq!(round.counters().next().unwrap().delta, 2);
    /// assert_eq!(round.add_call(2, "c", &log), Err(MergeError::DuplicateSeq { seq: 2 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_call(&mut self, seq: u64, canister: &str, log: &WriteLog) -> Result<(), MergeError> {
        self.add_owned(seq, canister, log.clone())
    }

    /// [`Delta::add_call`], moving the log's keys and values into the delta instead of
    /// copying them: for a round's fold, whose logs are done with once folded. A logging
    /// call's three writes make four allocations and copies fewer.
    ///
    /// # Errors
    ///
    /// As [`Delta::add_call`].
    pub fn add_owned(&mut self, seq: u64, canister: &str, log: WriteLog) -> Result<(), MergeError> {
        if !self.seqs.insert(seq) {
            return Err(MergeError::DuplicateSeq { seq });
        }
        // A log holds at most `LogLimits::max_ops: u32` ops, so every index fits a u32.
        for (index, op) in (0..=u32::MAX).zip(log.into_ops()) {
            let clock = (seq, index);
            match op {
                Op::CounterAdd {
                    name,
                    key,
                    delta: add,
                } => self.add_counter(canister, &name, key, i128::from(add)),
                Op::MapPut { name, key, value } => {
                    self.write_map(canister, &name, key, clock, Some(value));
                }
                Op::MapRemove { name, key } => self.write_map(canister, &name, key, clock, None),
                Op::ListPush { name, value } => {
                    // `seq` is new to `self` (checked above), so the element's clock is too.
                    self.lists
                        .with_slot(canister, &name, |elements| elements.insert(clock, value));
                }
            }
        }
        Ok(())
    }

    /// The delta of a set of calls, merged in the order given (which does not matter).
    ///
    /// # Errors
    ///
    /// [`MergeError::DuplicateSeq`] if two calls share a seq.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::{Delta, MergeError};
    /// use commute::write_log::WriteLog;
    ///
    /// let log = WriteLog::default();
    /// let both = Delta::from_calls([(1, "c", &log), (2, "c", &log)])?;
    /// assert_eq!(both.seqs().len(), 2);
    /// let twice = Delta::from_calls([(1, "c", &log), (1, "c", &log)]);
    /// assert_eq!(twice, Err(MergeError::DuplicateSeq { seq: 1 }));
    /// # Ok::<(), MergeError>(())
    /// ```
    pub fn from_calls<'a>(
        calls: impl IntoIterator<Item = (u64, &'a str, &'a WriteLog)>,
    ) -> Result<Self, MergeError> {
        let mut delta = Delta::new();
        for (seq, canister, log) in calls {
            delta.merge(Delta::from_call(seq, canister, log))?;
        }
        Ok(delta)
    }

    /// Merges `other` into `self` by the rules of the module doc. Commutative and
    /// associative: `a ⊕ b = b ⊕ a` and `(a ⊕ b) ⊕ c = a ⊕ (b ⊕ c)`, with [`Delta::new`] as
    /// identity. Costs O(min(m log n, n + m)) for the smaller size m and larger n of the two.
    ///
    /// # Errors
    ///
    /// [`MergeError::DuplicateSeq`] if the deltas share a seq; `self` is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::{Delta, MergeError};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"hits", b"", 1)?;
    /// let mut round = Delta::from_call(1, "c", &log);
    /// round.merge(Delta::from_call(2, "c", &log))?;
    /// assert_eq!(round.counters().next().unwrap().delta, 2);
    /// let again = round.merge(Delta::from_call(2, "c", &log));
    /// assert_eq!(again, Err(MergeError::DuplicateSeq { seq: 2 }));
    /// assert_eq!(round.counters().next().unwrap().delta, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge(&mut self, mut other: Delta) -> Result<(), MergeError> {
        // `intersection` picks lookups from the smaller or one walk of both.
        if let Some(&seq) = self.seqs.intersection(&other.seqs).next() {
            return Err(MergeError::DuplicateSeq { seq });
        }
        // Every rule is symmetric, so fold the smaller delta into the larger one.
        if self.write_count() + self.seqs.len() < other.write_count() + other.seqs.len() {
            std::mem::swap(self, &mut other);
        }
        // Disjoint (checked above): `append` walks both in order, as `join` would.
        if by_insertion(self.seqs.len(), other.seqs.len()) {
            self.seqs.extend(other.seqs);
        } else {
            self.seqs.append(&mut other.seqs);
        }
        self.counters.absorb(other.counters, add_to);
        self.maps.absorb(other.maps, Stamped::keep_later);
        // Disjoint seqs mean disjoint element clocks: the union loses nothing.
        self.lists
            .absorb(other.lists, |_, _| unreachable!("disjoint clocks"));
        Ok(())
    }

    /// [`Delta::merge`], by value: `self ⊕ other`.
    ///
    /// # Errors
    ///
    /// [`MergeError::DuplicateSeq`] if the deltas share a seq.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::write_log::WriteLog;
    ///
    /// let log = WriteLog::default();
    /// let round = Delta::from_call(2, "c", &log).merged(Delta::from_call(1, "c", &log))?;
    /// assert_eq!(round.first_seq(), Some(1));
    /// # Ok::<(), commute::merge::MergeError>(())
    /// ```
    pub fn merged(mut self, other: Delta) -> Result<Delta, MergeError> {
        self.merge(other)?;
        Ok(self)
    }

    /// Adds `add` to a counter entry, keeping (B): an entry summing to 0 is dropped.
    fn add_counter(&mut self, canister: &str, name: &[u8], key: Vec<u8>, add: i128) {
        if add == 0 {
            return;
        }
        let emptied = self.counters.with_slot(canister, name, |sums| {
            match sums.get_mut(Bytes::new(&key)) {
                Some(sum) => {
                    if !add_to(sum, add) {
                        sums.remove(Bytes::new(&key));
                    }
                }
                None => {
                    sums.insert(Owned(key), add);
                }
            }
            sums.is_empty()
        });
        if emptied {
            self.counters.prune(canister, name);
        }
    }

    /// Writes a map entry at `clock` unless a later clock wrote it ([`Stamped::keep_later`]).
    fn write_map(
        &mut self,
        canister: &str,
        name: &[u8],
        key: Vec<u8>,
        clock: (u64, u32),
        value: Option<Vec<u8>>,
    ) {
        self.maps.with_slot(canister, name, |writes| {
            match writes.get_mut(Bytes::new(&key)) {
                Some(mine) => {
                    mine.keep_later(Stamped { clock, value });
                }
                None => {
                    writes.insert(Owned(key), Stamped { clock, value });
                }
            }
        });
    }

    /// The seqs of the calls this delta holds, ascending.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    ///
    /// assert!(Delta::new().seqs().is_empty());
    /// ```
    pub fn seqs(&self) -> &BTreeSet<u64> {
        &self.seqs
    }

    /// The smallest seq held, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    ///
    /// assert_eq!(Delta::from_call(4, "c", &Default::default()).first_seq(), Some(4));
    /// ```
    pub fn first_seq(&self) -> Option<u64> {
        self.seqs.first().copied()
    }

    /// The largest seq held, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    ///
    /// assert_eq!(Delta::new().last_seq(), None);
    /// ```
    pub fn last_seq(&self) -> Option<u64> {
        self.seqs.last().copied()
    }

    /// Whether the delta holds no call at all (and so no write).
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    ///
    /// assert!(Delta::new().is_empty());
    /// assert!(!Delta::from_call(1, "c", &Default::default()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// The number of entries the delta writes: counter changes, map writes and list pushes.
    /// Committing it costs O(this × log state size).
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"n", b"", 1)?;
    /// log.counter_add(b"n", b"", -1)?; // sums to 0: no write
    /// log.list_push(b"l", b"v")?;
    /// assert_eq!(Delta::from_call(1, "c", &log).write_count(), 1);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn write_count(&self) -> usize {
        self.counters.len() + self.maps.len() + self.lists.len()
    }

    /// The counter changes, ordered by `(canister, name, key)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::{CounterChange, Delta};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"views", b"/", 7)?;
    /// let delta = Delta::from_call(1, "web", &log);
    /// let change = CounterChange { canister: "web", name: b"views", key: b"/", delta: 7 };
    /// assert_eq!(delta.counters().collect::<Vec<_>>(), [change]);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn counters(&self) -> impl Iterator<Item = CounterChange<'_>> {
        self.counters
            .iter()
            .map(|(canister, name, key, &delta)| CounterChange {
                canister,
                name,
                key: &key.0,
                delta,
            })
    }

    /// The winning map writes, ordered by `(canister, name, key)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::{Delta, MapChange};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.map_put(b"m", b"k", b"v")?;
    /// log.map_remove(b"m", b"k")?;
    /// let delta = Delta::from_call(1, "c", &log);
    /// let change = MapChange { canister: "c", name: b"m", key: b"k", value: None };
    /// assert_eq!(delta.maps().collect::<Vec<_>>(), [change]);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn maps(&self) -> impl Iterator<Item = MapChange<'_>> {
        self.maps
            .iter()
            .map(|(canister, name, key, write)| MapChange {
                canister,
                name,
                key: &key.0,
                value: write.value.as_deref(),
            })
    }

    /// The list pushes, ordered by `(canister, name, seq, index)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::{Delta, ListAppend};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"n", b"", 1)?;
    /// log.list_push(b"events", b"login")?;
    /// let delta = Delta::from_call(9, "c", &log);
    /// let push = ListAppend { canister: "c", name: b"events", seq: 9, index: 1, value: b"login" };
    /// assert_eq!(delta.lists().collect::<Vec<_>>(), [push]);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn lists(&self) -> impl Iterator<Item = ListAppend<'_>> {
        self.lists
            .iter()
            .map(|(canister, name, &(seq, index), value)| ListAppend {
                canister,
                name,
                seq,
                index,
                value,
            })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod laws {
    //! The laws of `docs/modes.md` as quickcheck properties.

    use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

    use std::collections::BTreeMap;

    use super::{insert_each, walk_both, Delta, MergeError};
    use crate::store::Store;
    use crate::write_log::arbitrary::pick;
    use crate::write_log::WriteLog;

    /// The canisters generated calls belong to.
    pub(crate) const CANISTERS: &[&str] = &["p", "q"];

    /// One call: `(seq, canister, log)`.
    #[derive(Clone, Debug)]
    pub(crate) struct Call {
        pub(crate) seq: u64,
        pub(crate) canister: &'static str,
        pub(crate) log: WriteLog,
    }

    impl Arbitrary for Call {
        fn arbitrary(g: &mut Gen) -> Self {
            Call {
                seq: u64::arbitrary(g),
                canister: pick(g, CANISTERS),
                log: WriteLog::arbitrary(g),
            }
        }

        fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
            let (seq, canister) = (self.seq, self.canister);
            Box::new(
                self.log
                    .shrink()
                    .map(move |log| Call { seq, canister, log }),
            )
        }
    }

    /// Calls with distinct seqs, in no particular order.
    #[derive(Clone, Debug)]
    pub(crate) struct Calls(pub(crate) Vec<Call>);

    impl Arbitrary for Calls {
        fn arbitrary(g: &mut Gen) -> Self {
            let mut calls = Vec::<Call>::arbitrary(g);
            calls.truncate(10);
            // Distinct seqs with gaps, starting from 1, then shuffled.
            let mut seq = 0;
            for call in &mut calls {
                seq += 1 + u64::arbitrary(g) % 3;
                call.seq = seq;
            }
            shuffle(g, &mut calls);
            Calls(calls)
        }

        fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
            // Dropping or shrinking calls keeps their seqs distinct.
            Box::new(self.0.shrink().map(Calls))
        }
    }

    impl Calls {
        /// The calls sorted by seq.
        pub(crate) fn in_seq_order(&self) -> Vec<Call> {
            let mut calls = self.0.clone();
            calls.sort_by_key(|call| call.seq);
            calls
        }

        /// The delta of each call, in the order held.
        pub(crate) fn deltas(&self) -> Vec<Delta> {
            self.0
                .iter()
                .map(|c| Delta::from_call(c.seq, c.canister, &c.log))
                .collect()
        }
    }

    /// A permutation and a grouping, drawn with the calls.
    #[derive(Clone, Debug)]
    pub(crate) struct Shape {
        /// Sort keys: element i goes where `order[i]` ranks.
        order: Vec<u32>,
        /// Where to cut the permuted sequence into groups.
        cuts: Vec<bool>,
    }

    impl Arbitrary for Shape {
        fn arbitrary(g: &mut Gen) -> Self {
            Shape {
                order: (0..16).map(|_| u32::arbitrary(g)).collect(),
                cuts: (0..16).map(|_| bool::arbitrary(g)).collect(),
            }
        }
    }

    impl Shape {
        /// `items` permuted by `order`.
        fn permute<T>(&self, items: Vec<T>) -> Vec<T> {
            let mut keyed: Vec<(u32, usize, T)> = items
                .into_iter()
                .enumerate()
                .map(|(i, t)| (self.order[i % 16], i, t))
                .collect();
            keyed.sort_by_key(|(rank, i, _)| (*rank, *i));
            keyed.into_iter().map(|(_, _, t)| t).collect()
        }

        /// `items` cut into consecutive non-empty groups.
        pub(crate) fn group<T>(&self, items: Vec<T>) -> Vec<Vec<T>> {
            let mut groups = vec![Vec::new()];
            for (i, item) in items.into_iter().enumerate() {
                if self.cuts[i % 16] && !groups.last().is_some_and(Vec::is_empty) {
                    groups.push(Vec::new());
                }
                groups.last_mut().expect("never empty").push(item);
            }
            groups
        }
    }

    fn shuffle<T>(g: &mut Gen, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, usize::arbitrary(g) % (i + 1));
        }
    }

    /// Folds deltas left to right.
    fn fold(deltas: Vec<Delta>) -> Result<Delta, MergeError> {
        deltas.into_iter().try_fold(Delta::new(), Delta::merged)
    }

    /// Commits `deltas` one after another into a fresh store; its state and root.
    pub(crate) fn committed(
        deltas: &[Delta],
    ) -> (Vec<(String, crate::store::Entry)>, crate::root::Root) {
        let mut store = Store::temporary().expect("temporary store");
        for delta in deltas {
            store.apply(delta).expect("apply");
        }
        store.verify().expect("invariants hold");
        let state = store
            .reader()
            .all_entries()
            .collect::<Result<_, _>>()
            .expect("read");
        (state, store.root())
    }

    pub(crate) fn quickcheck() -> QuickCheck {
        QuickCheck::new().tests(60).rng(Gen::new(12))
    }

    /// `fold(calls) = fold(permute(calls))`: any order gives the same delta, state and root.
    #[test]
    fn prop_merge_commutative() {
        fn prop(calls: Calls, shape: Shape) -> bool {
            let straight = fold(calls.deltas()).expect("distinct seqs");
            let permuted = fold(shape.permute(calls.deltas())).expect("distinct seqs");
            straight == permuted
                && committed(&[straight]) == committed(&[permuted])
                && (calls.0.len() < 2 || {
                    // a ⊕ b = b ⊕ a on two halves.
                    let mut deltas = calls.deltas();
                    let b = fold(deltas.split_off(deltas.len() / 2)).unwrap();
                    let a = fold(deltas).unwrap();
                    a.clone().merged(b.clone()).unwrap() == b.merged(a).unwrap()
                })
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape) -> bool);
    }

    /// `(a ⊕ b) ⊕ c = a ⊕ (b ⊕ c)`, and any grouping of any permutation folds to the same
    /// delta, state and root.
    #[test]
    fn prop_merge_associative() {
        fn prop(calls: Calls, shape: Shape) -> bool {
            let flat = fold(calls.deltas()).expect("distinct seqs");
            let groups = shape.group(shape.permute(calls.deltas()));
            let grouped: Vec<Delta> = groups.into_iter().map(|g| fold(g).unwrap()).collect();
            let nested = fold(grouped.into_iter().rev().collect()).unwrap();
            let mut thirds = calls.deltas();
            let c = fold(thirds.split_off(thirds.len() * 2 / 3)).unwrap();
            let b = fold(thirds.split_off(thirds.len() / 2)).unwrap();
            let a = fold(thirds).unwrap();
            let left = a
                .clone()
                .merged(b.clone())
                .unwrap()
                .merged(c.clone())
                .unwrap();
            let right = a.merged(b.merged(c).unwrap()).unwrap();
            flat == nested
                && left == right
                && left == flat
                && committed(&[flat]) == committed(&[nested])
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape) -> bool);
    }

    /// `fold(calls) ⊕ δ(call) = DuplicateSeq(call.seq)` for any `call` in `calls`, and the
    /// refused merge changes nothing.
    #[test]
    fn prop_merge_refuses_duplicate_seq() {
        fn prop(calls: Calls, pick: usize, other: WriteLog) -> TestResult {
            if calls.0.is_empty() {
                return TestResult::discard();
            }
            let mut all = fold(calls.deltas()).unwrap();
            let before = all.clone();
            let seq = calls.0[pick % calls.0.len()].seq;
            let again = Delta::from_call(seq, "p", &other);
            let refused = all.merge(again.clone()) == Err(MergeError::DuplicateSeq { seq });
            let refused_back =
                again.merged(before.clone()) == Err(MergeError::DuplicateSeq { seq });
            TestResult::from_bool(refused && refused_back && all == before)
        }
        quickcheck().quickcheck(prop as fn(Calls, usize, WriteLog) -> TestResult);
    }

    /// `add_call(d, call) = d ⊕ δ(call)`, refusals included: folding a call straight in is
    /// merging its delta.
    #[test]
    fn prop_add_call_is_merging_its_delta() {
        fn prop(calls: Calls, extra: Call, pick: usize) -> bool {
            let base = fold(calls.deltas()).expect("distinct seqs");
            // A new seq, or (when `pick` says so and there is one) a seq `base` holds.
            let seq = match calls.0.get(pick % (calls.0.len() + 1)) {
                Some(held) => held.seq,
                None => calls.0.iter().map(|c| c.seq).max().unwrap_or(0) + 1,
            };
            let mut added = base.clone();
            let result = added.add_call(seq, extra.canister, &extra.log);
            let merged = base
                .clone()
                .merged(Delta::from_call(seq, extra.canister, &extra.log));
            match (result, merged) {
                (Ok(()), Ok(merged)) => added == merged,
                (Err(a), Err(b)) => a == b && added == base,
                _ => false,
            }
        }
        quickcheck().quickcheck(prop as fn(Calls, Call, usize) -> bool);
    }

    /// `join` gives the same map key by key as by one walk of both, whatever the sizes:
    /// the same entries, combined where both hold a key, dropped where the combination
    /// says so (a counter summing to 0).
    #[test]
    fn prop_join_either_way_is_the_same() {
        fn prop(mine: BTreeMap<u8, i8>, theirs: BTreeMap<u8, i8>) -> bool {
            let sum = |held: &mut i8, add: i8| {
                *held = held.wrapping_add(add);
                *held != 0
            };
            let (mut inserted, mut walked) = (mine.clone(), mine.clone());
            insert_each(&mut inserted, theirs.clone(), sum);
            walk_both(&mut walked, theirs.clone(), sum);
            let mut expected = mine;
            for (key, add) in theirs {
                match expected.get_mut(&key) {
                    Some(held) if held.wrapping_add(add) == 0 => {
                        expected.remove(&key);
                    }
                    Some(held) => *held = held.wrapping_add(add),
                    None => {
                        expected.insert(key, add);
                    }
                }
            }
            // Either side may hold zeros: `join` only drops what it combines.
            inserted == walked && inserted == expected
        }
        quickcheck().quickcheck(prop as fn(BTreeMap<u8, i8>, BTreeMap<u8, i8>) -> bool);
    }

    /// Serial equivalence: `commit(δ1); commit(δ2); … = commit(δ1 ⊕ δ2 ⊕ …)` for calls in seq
    /// order, in state and root.
    #[test]
    fn prop_serial_equivalence() {
        fn prop(calls: Calls) -> bool {
            let serial: Vec<Delta> = Calls(calls.in_seq_order()).deltas();
            let merged = fold(calls.deltas()).expect("distinct seqs");
            committed(&serial) == committed(&[merged])
        }
        quickcheck().quickcheck(prop as fn(Calls) -> bool);
    }
}
