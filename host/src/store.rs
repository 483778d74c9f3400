//! The store of stable structures, where a [`Delta`] commits atomically: as one journal
//! in sled (a few records, written in a row), flushed, then applied (`store/journal.rs`).
//!
//! Everything commute keeps is durable in ONE sled database, under keys whose first byte
//! names an area, and a round lands as ONE journal, whole or not at all (journal J5), so
//! that it commits atomically:
//! its merged writes, the state root, and (written by [`crate::commit`] into the same
//! commit through [`Commit::insert`]) the consumed queue entries, the outcomes and the
//! round record. The records live in four trees ([`Trees`]): the main one; the journals;
//! the checkpoint; the installed canisters.
//!
//! The state itself (the `s` area) is resident in memory (`store/resident.rs`): reads and
//! commits touch it there, and sled holds it as the last checkpoint's chunks plus the
//! journals since (`store/checkpoint.rs`), never as a sled record per key. The records
//! below are those of the resident state; a store written before checkpoints existed holds
//! them in sled, and its first checkpoint moves them into chunks.
//!
//! # Areas
//!
//! | first byte | area | owner |
//! | --- | --- | --- |
//! | `i` | installed canisters (wasm, `.did`) | reserved for install |
//! | `k` | idempotency keys of accepted calls | reserved for the queue |
//! | `m` | meta: the lattice, the last committed seq, the round record; in trees of their own, the journals (`mj…`) and the checkpoint (`mz`, `mc…`) | this module, `mr…` reserved for the round record |
//! | `o` | call outcomes | reserved for outcomes |
//! | `q` | the queue of accepted calls | reserved for the queue |
//! | `s` | the stable structures | this module |
//!
//! # Byte layout of the `s` area
//!
//! ```text
//! key                                                                  value
//! 's' ‖ u32 BE |c| ‖ c ‖ 'c' ‖ u32 BE |n| ‖ n ‖ key                    i128 LE (16 bytes), never 0
//! 's' ‖ u32 BE |c| ‖ c ‖ 'l' ‖ u32 BE |n| ‖ n ‖ seq u64 BE ‖ idx u32 BE   element bytes
//! 's' ‖ u32 BE |c| ‖ c ‖ 'm' ‖ u32 BE |n| ‖ n ‖ key                    value bytes
//! 's' ‖ u32 BE |c| ‖ c ‖ 'n' ‖ u32 BE |n| ‖ n                          list length, u64 BE
//! 's' ‖ u32 BE |c| ‖ c ‖ 'p' ‖ u32 BE |n| ‖ n ‖ pos u64 BE             seq u64 BE ‖ idx u32 BE
//!
//! 'm' ‖ "lattice"                                                      2048 bytes: 1024 u16 LE lanes
//! 'm' ‖ "last_seq"                                                     u64 BE
//! 'm' ‖ "ahead"                                                        (start u64 BE ‖ end u64 BE)*
//! 'm' ‖ 'j' ‖ id u64 BE   (tree commute-journal)                        a journal (store/journal.rs)
//! 'm' ‖ 'z', 'm' ‖ 'c' ‖ … (tree commute-checkpoint)                     the checkpoint (store/checkpoint.rs)
//! ```
//!
//! `c` is the canister name (UTF-8), `n` the structure's name. Because the canister and the
//! name are length-prefixed, the keys of one `(canister, kind, name)` are exactly those that
//! start with that *scope*, and no other structure's keys do; the rest of a map key is the
//! raw map key, so map keys under one scope compare in raw byte order
//! ([`StateReader::map_next_key`] is a range scan), and list elements compare in
//! `(seq, index)` order. A whole canister is one prefix, `'s' ‖ u32 BE |c| ‖ c`, so
//! [`StateReader::entries`] is one scan in a stable order: counters, list elements, maps,
//! each by (name length, name, key), skipping the `n` and `p` records, which are indexes
//! over the state, not state. `store/layout.golden` pins this layout.
//!
//! The `p` records make [`StateReader::list_get`] two point reads instead of a walk from
//! the list's start (which made paging through a list quadratic). A `p` record holds the
//! element's 12-byte `(seq, index)`, not a copy of the element: elements may be MiBs, and
//! a copy would double the bytes each push writes, for the saving of one point read.
//!
//! # Invariants
//!
//! - (A) The lattice at `m lattice` is the sum of the digests ([`crate::root::Entry`]) of
//!   every `c`, `l` and `m` entry of the `s` area (list lengths and positions are not
//!   entries).
//! - (B) No counter holds 0: a counter that sums to 0 is removed, so state is canonical and
//!   the root is a function of what reads can observe.
//! - (C) The `n` record of a list holds its number of `l` elements, and is absent iff 0.
//! - (D) Every seq of every delta committed has finished ([`Finished`]: ≤ `m last_seq`,
//!   or in a run of `m ahead`); a delta holding a finished seq is refused, so a committed
//!   round cannot be merged again, and every list element of a new delta is a key never
//!   written before. (The caller commits each canister's calls in seq order, so a list's
//!   new elements follow its old ones.)
//! - (E) The state, the lattice and the last seq change only together, in one commit's
//!   journal.
//! - (F) The `p` record at position `pos` of a list, where there is one, holds the
//!   `(seq, index)` of the list's `pos`-th element in `(seq, index)` order; the positions
//!   that have one are `k .. len` for some `k`. Every store written since `p` records exist
//!   has `k = 0`; one written before has no record for the elements it held then, and
//!   [`StateReader::list_get`] walks to those (so such a store works unchanged, only
//!   slower on its old elements).
//!
//! [`Store::prepare`] and [`Store::commit`] keep all six; [`Store::verify`] checks (A)–(C)
//! and (F) from scratch. The old values a commit needs come from the resident state
//! (`store/resident.rs`), not from sled.
//!
//! This module imports [`crate::merge`] (upstream) and [`crate::root`], the leaf that hashes.

use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, RwLock};

use rayon::prelude::*;
use thiserror::Error;

use crate::disk::Disk;
use crate::finished::Finished;
use crate::merge::{CounterChange, Delta, ListAppend, MapChange};
use crate::root::{list_element_key, Entry as RootEntry, Lattice, Root, RootError};

mod checkpoint;
pub(crate) mod faults;
mod flush_thread;
pub use checkpoint::MIN_BYTES as CHECKPOINT_BYTES;
mod journal;
mod resident;
use checkpoint::Named;
use faults::Faults;
use flush_thread::FlushThread;
pub(crate) use flush_thread::Pending;
use journal::Write;
use resident::{is_state, Resident};

/// The writes of a commit, in the order they were added; [`sled::Batch`]'s shape, but
/// landed through the journal instead of `apply_batch`.
#[derive(Debug, Default)]
struct Batch(Vec<Write>);

impl Batch {
    fn insert(&mut self, key: impl AsRef<[u8]>, value: impl Into<sled::IVec>) {
        self.0.push((key.as_ref().to_vec(), Some(value.into())));
    }

    fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.0.push((key.as_ref().to_vec(), None));
    }
}

/// The first byte of each area of the tree; see the module doc.
pub mod area {
    /// Installed canisters; reserved for install.
    pub const INSTALLED: u8 = b'i';
    /// Meta: the lattice, the last committed seq, and (reserved, under `mr`) the round record.
    pub const META: u8 = b'm';
    /// Call outcomes; reserved for outcomes.
    pub const OUTCOMES: u8 = b'o';
    /// The queue of accepted calls; reserved for the queue.
    pub const QUEUE: u8 = b'q';
    /// Idempotency keys of accepted calls; reserved for the queue.
    pub const KEYS: u8 = b'k';
    /// The stable structures; this module's.
    pub const STATE: u8 = b's';
    /// The meta key of the lattice.
    pub const META_LATTICE: &[u8] = b"mlattice";
    /// The meta key of the last committed seq.
    pub const META_LAST_SEQ: &[u8] = b"mlast_seq";
    /// The meta key of the runs of seqs finished above it (`crate::finished`).
    pub const META_AHEAD: &[u8] = b"mahead";
    /// The meta key prefix reserved for the round record.
    pub const META_ROUND: &[u8] = b"mr";
}

const COUNTER: u8 = b'c';
const LIST: u8 = b'l';
const MAP: u8 = b'm';
const LIST_LEN: u8 = b'n';
const LIST_POS: u8 = b'p';

/// The store could not do what was asked.
#[derive(Debug, Error)]
pub enum StoreError {
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// The delta holds a seq that is already committed.
    #[error("seq {seq} is already committed (last committed seq is {last}); a round commits once")]
    AlreadyCommitted {
        /// The smallest seq of the delta.
        seq: u64,
        /// The last committed seq.
        last: u64,
    },
    /// A [`Commit`] was prepared against a store that has committed since.
    #[error("stale commit: prepared after the store's commit {prepared}, but it has made {now}")]
    Stale {
        /// How many commits the store had made when the commit was prepared.
        prepared: u64,
        /// How many it has made now.
        now: u64,
    },
    /// [`Store::prepare`] was called between [`Store::journal`] and [`Store::settle`]: the
    /// old values it reads are those of the settled state.
    #[error("a commit was prepared while the last one awaits its flush; settle it first")]
    Unsettled,
    /// [`Commit::insert`] or [`Commit::remove`] was given a key this module owns.
    #[error("key {key} is in the store's own area; extra batch writes go under i, o, q or mr")]
    OwnKey {
        /// The key, in hex.
        key: String,
    },
    /// An earlier write or flush failed; the store refuses commits until it is reopened,
    /// which replays what was journaled.
    #[error("the store stopped committing after a failed write ({0}); restart to recover")]
    Broken(String),
    /// A stored record does not have the layout of the module doc.
    #[error("corrupt store at key {key}: {what}")]
    Corrupt {
        /// The key, in hex.
        key: String,
        /// What is wrong with it.
        what: String,
    },
}

impl From<RootError> for StoreError {
    fn from(err: RootError) -> Self {
        StoreError::Corrupt {
            key: hex(area::META_LATTICE),
            what: err.to_string(),
        }
    }
}

/// A last committed seq in words: the number, or "none".
/// The watermark as an option: none before the first commit.
fn watermark(finished: &Finished) -> Option<u64> {
    Some(finished.last()).filter(|last| *last > 0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn corrupt(key: &[u8], what: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: hex(key),
        what: what.into(),
    }
}

/// One entry of a canister's state, as [`StateReader::entries`] yields it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entry {
    /// Entry `key` of counter `name`; never 0.
    Counter {
        /// The counter's name.
        name: Vec<u8>,
        /// The entry within the counter.
        key: Vec<u8>,
        /// Its value.
        value: i128,
    },
    /// An element of list `name`, pushed by op `index` of call `seq`.
    List {
        /// The list's name.
        name: Vec<u8>,
        /// The seq of the call that pushed it.
        seq: u64,
        /// The index of the push within that call's ops.
        index: u32,
        /// The element.
        value: Vec<u8>,
    },
    /// Key `key` of map `name`.
    Map {
        /// The map's name.
        name: Vec<u8>,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
}

impl Entry {
    /// The entry as the root hashes it, within `canister`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root;
    /// use commute::store::Entry;
    ///
    /// let entry = Entry::Counter { name: b"n".to_vec(), key: vec![], value: 2 };
    /// let expected = root::Entry::Counter { canister: "c", name: b"n", key: b"", value: 2 };
    /// assert_eq!(entry.as_root_entry("c"), expected);
    /// ```
    pub fn as_root_entry<'a>(&'a self, canister: &'a str) -> RootEntry<'a> {
        match self {
            Entry::Counter { name, key, value } => RootEntry::Counter {
                canister,
                name,
                key,
                value: *value,
            },
            Entry::List {
                name,
                seq,
                index,
                value,
            } => RootEntry::List {
                canister,
                name,
                seq: *seq,
                index: *index,
                value,
            },
            Entry::Map { name, key, value } => RootEntry::Map {
                canister,
                name,
                key,
                value,
            },
        }
    }
}

/// Appends a u32 BE length and the bytes.
fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Names are bounded by `LogLimits::max_bytes: u32`, canister names by 64 bytes.
    let len = u32::try_from(bytes.len()).expect("names and canisters are shorter than 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// `'s' ‖ u32 BE |c| ‖ c`: the prefix of a whole canister.
fn canister_prefix(canister: &str) -> Vec<u8> {
    let mut key = vec![area::STATE];
    push_field(&mut key, canister.as_bytes());
    key
}

/// `'s' ‖ u32 BE |c| ‖ c ‖ kind ‖ u32 BE |n| ‖ n`: the prefix of one structure, followed by
/// `tail`.
fn scoped(canister: &str, kind: u8, name: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(10 + canister.len() + name.len() + tail.len());
    key.push(area::STATE);
    push_field(&mut key, canister.as_bytes());
    key.push(kind);
    push_field(&mut key, name);
    key.extend_from_slice(tail);
    key
}

/// Splits a u32 BE length-prefixed field off the front of `bytes`.
fn take_field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// A decoded `s` key: `(canister, kind, name, tail)`.
fn parse_state_key(key: &[u8]) -> Option<(&str, u8, &[u8], &[u8])> {
    let rest = key.strip_prefix(&[area::STATE])?;
    let (canister, rest) = take_field(rest)?;
    let (&kind, rest) = rest.split_first()?;
    let (name, tail) = take_field(rest)?;
    Some((std::str::from_utf8(canister).ok()?, kind, name, tail))
}

fn decode_counter(key: &[u8], value: &[u8]) -> Result<i128, StoreError> {
    let bytes: [u8; 16] = value
        .try_into()
        .map_err(|_| corrupt(key, "counter is not 16 bytes"))?;
    Ok(i128::from_le_bytes(bytes))
}

fn decode_u64(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| corrupt(key, "not an 8-byte u64"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Decodes one `s` record into its canister and entry; `None` for a list length or
/// position record.
fn decode_entry(key: &[u8], value: &[u8]) -> Result<Option<(String, Entry)>, StoreError> {
    let (canister, kind, name, tail) =
        parse_state_key(key).ok_or_else(|| corrupt(key, "not a state key"))?;
    let (name, tail) = (name.to_vec(), tail.to_vec());
    let entry = match kind {
        COUNTER => Entry::Counter {
            name,
            key: tail,
            value: decode_counter(key, value)?,
        },
        MAP => Entry::Map {
            name,
            key: tail,
            value: value.to_vec(),
        },
        LIST => {
            let at: [u8; 12] = tail
                .as_slice()
                .try_into()
                .map_err(|_| corrupt(key, "list key is not 12 bytes"))?;
            let (seq, index) = at.split_at(8);
            Entry::List {
                name,
                seq: u64::from_be_bytes(seq.try_into().expect("8 bytes")),
                index: u32::from_be_bytes(index.try_into().expect("4 bytes")),
                value: value.to_vec(),
            }
        }
        LIST_LEN | LIST_POS => return Ok(None),
        other => return Err(corrupt(key, format!("unknown kind {other:#04x}"))),
    };
    Ok(Some((canister.to_owned(), entry)))
}

/// Read access to the committed state. Cheap to clone; any number may read at once, also
/// while a [`Store`] commits.
///
/// Each point read sees a commit whole or not at all, and only once it is durable: a commit
/// lands in the resident state and the tree with the reader's gate held exclusively,
/// either from before its state writes land until its flush has ended
/// (`Store::settle_with`), so that a read that comes meanwhile waits for the flush, or
/// only after its flush, while they land (`Store::flush_and_settle_here`); journal J2
/// either way.
/// A sequence of reads is not a snapshot: a commit may land between two of them; a caller
/// that needs one view across reads excludes commits meanwhile.
///
/// # Examples
///
/// ```
/// use commute::merge::Delta;
/// use commute::store::Store;
/// use commute::write_log::WriteLog;
///
/// let mut store = Store::temporary()?;
/// let mut log = WriteLog::default();
/// log.counter_add(b"views", b"/home", 3)?;
/// store.apply(&Delta::from_call(1, "web", &log))?;
/// let reader = store.reader().clone();
/// assert_eq!(reader.counter_get("web", b"views", b"/home")?, 3);
/// assert_eq!(reader.counter_get("web", b"views", b"/away")?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StateReader {
    tree: sled::Tree,
    /// The state itself (resident invariant R), behind the gate: held shared by each read,
    /// and exclusively while a commit lands in it and in the tree's other areas, and while
    /// the flush that makes it durable ends (journal J2): a read sees all of a durable
    /// commit's writes or none.
    gate: Arc<RwLock<Resident>>,
}

impl fmt::Debug for StateReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateReader")
            .field("tree", &String::from_utf8_lossy(&self.tree.name()))
            .finish()
    }
}

impl StateReader {
    /// The state, with commits excluded while the guard lives.
    fn shared(&self) -> std::sync::RwLockReadGuard<'_, Resident> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The resident state, for tests that compare it whole.
    #[cfg(test)]
    pub(crate) fn resident(&self) -> std::sync::RwLockReadGuard<'_, Resident> {
        self.shared()
    }

    /// Sets a record of the resident state behind the store's back (`None`: removes it),
    /// as a corrupt or old store would hold it: for tests of what reads and
    /// [`Store::verify`] make of that.
    #[cfg(test)]
    pub(crate) fn poke(&self, key: &[u8], value: Option<&[u8]>) {
        let mut state = self.gate.write().unwrap_or_else(|e| e.into_inner());
        state.apply(&[(key.to_vec(), value.map(sled::IVec::from))]);
    }

    /// The records under `prefix`, in key order, a page at a time: no lock is held
    /// between pages, so a commit may land between two of them.
    fn records(&self, prefix: Vec<u8>) -> Records {
        Records {
            gate: self.gate.clone(),
            prefix,
            keys: None,
            page: Vec::new().into_iter(),
        }
    }

    /// The sled tree everything lives in, for the modules that own the other areas.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert!(store.reader().tree().get(b"q")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Entry `key` of counter `name` of `canister`; 0 if never written (or summed to 0).
    /// O(1).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails; [`StoreError::Corrupt`] if the record is not
    /// 16 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().counter_get("c", b"hits", b"")?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counter_get(&self, canister: &str, name: &[u8], key: &[u8]) -> Result<i128, StoreError> {
        let key = scoped(canister, COUNTER, name, key);
        match self.shared().get(&key) {
            Some(value) => decode_counter(&key, value),
            None => Ok(0),
        }
    }

    /// The value of `key` in map `name` of `canister`, if present. O(1).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// log.map_put(b"last", b"ann", b"login")?;
    /// store.apply(&Delta::from_call(1, "c", &log))?;
    /// assert_eq!(store.reader().map_get("c", b"last", b"ann")?, Some(b"login".to_vec()));
    /// assert_eq!(store.reader().map_get("c", b"last", b"bob")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_get(
        &self,
        canister: &str,
        name: &[u8],
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .shared()
            .get(&scoped(canister, MAP, name, key))
            .map(|value| value.to_vec()))
    }

    /// The first key of map `name` of `canister` greater than `after` in raw byte order, or
    /// the first key of all when `after` is `None`. O(log map entries).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// for key in [&b"b"[..], b"a", b"a\0"] {
    ///     log.map_put(b"m", key, b"")?;
    /// }
    /// store.apply(&Delta::from_call(1, "c", &log))?;
    /// let (reader, mut keys, mut after) = (store.reader(), vec![], None);
    /// while let Some(key) = reader.map_next_key("c", b"m", after.as_deref())? {
    ///     keys.push(key.clone());
    ///     after = Some(key);
    /// }
    /// assert_eq!(keys, [&b"a"[..], b"a\0", b"b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_next_key(
        &self,
        canister: &str,
        name: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let scope = scoped(canister, MAP, name, b"");
        Ok(self.shared().map_key_after(&scope, after))
    }

    /// The number of elements of list `name` of `canister`. O(1): the length is kept
    /// in its own record (C).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails; [`StoreError::Corrupt`] if the record is not
    /// 8 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().list_len("c", b"events")?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn list_len(&self, canister: &str, name: &[u8]) -> Result<u64, StoreError> {
        let key = scoped(canister, LIST_LEN, name, b"");
        match self.shared().get(&key) {
            Some(value) => decode_u64(&key, value),
            None => Ok(0),
        }
    }

    /// Element `i` (0-based, in `(seq, index)` order) of list `name` of `canister`, or
    /// `None` if `i` is out of range.
    ///
    /// Cost: O(1), two point reads: the position record (F), then the element it
    /// names. In a store written before position records existed, an element it held then
    /// costs O(state) instead (a walk from the list's start).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails; [`StoreError::Corrupt`] if the position record
    /// is not 12 bytes or names no element, or the list has fewer elements than its length.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// log.list_push(b"events", b"login")?;
    /// store.apply(&Delta::from_call(1, "c", &log))?;
    /// assert_eq!(store.reader().list_get("c", b"events", 0)?, Some(b"login".to_vec()));
    /// assert_eq!(store.reader().list_get("c", b"events", 1)?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn list_get(
        &self,
        canister: &str,
        name: &[u8],
        i: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let pos_key = scoped(canister, LIST_POS, name, &i.to_be_bytes());
        let state = self.shared();
        if let Some(at) = state.get(&pos_key) {
            if at.len() != 12 {
                return Err(corrupt(&pos_key, "position record is not 12 bytes"));
            }
            return match state.get(&scoped(canister, LIST, name, at)) {
                Some(value) => Ok(Some(value.to_vec())),
                None => Err(corrupt(&pos_key, "position names a missing element")),
            };
        }
        let len_key = scoped(canister, LIST_LEN, name, b"");
        let len = match state.get(&len_key) {
            Some(value) => decode_u64(&len_key, value)?,
            None => 0,
        };
        if i >= len {
            return Ok(None);
        }
        // (F): no record for an in-range position means a store written before position
        // records existed, and an element it held then: walk to it, as that store did.
        let skip = usize::try_from(i).unwrap_or(usize::MAX);
        let scope = scoped(canister, LIST, name, b"");
        let elements = state.prefixed(&scope);
        let mut values = elements.iter().map(|(_, value)| *value);
        match values.nth(skip) {
            Some(value) => Ok(Some(value.to_vec())),
            None => Err(corrupt(&pos_key, "list has fewer elements than its length")),
        }
    }

    /// The elements of list `name` of `canister` in `(seq, index)` order. O(state) to
    /// start (a scan lists the keys it will read), then O(1) per element.
    ///
    /// # Errors
    ///
    /// Each item is [`StoreError::Sled`] if sled fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// log.list_push(b"l", b"first")?;
    /// log.list_push(b"l", b"second")?;
    /// store.apply(&Delta::from_call(1, "c", &log))?;
    /// let all: Vec<Vec<u8>> = store.reader().list_iter("c", b"l").collect::<Result<_, _>>()?;
    /// assert_eq!(all, [b"first".to_vec(), b"second".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn list_iter(
        &self,
        canister: &str,
        name: &[u8],
    ) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> + use<> {
        self.records(scoped(canister, LIST, name, b""))
            .map(|(_, value)| Ok(value.to_vec()))
    }

    /// Every entry of `canister`, in a stable order: counters, then list elements, then map
    /// entries, each ordered by (name length, name, key or `(seq, index)`). For `dump`.
    ///
    /// # Errors
    ///
    /// Each item is [`StoreError::Sled`] if sled fails, or [`StoreError::Corrupt`] if a
    /// record does not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::{Entry, Store};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// log.map_put(b"m", b"k", b"v")?;
    /// log.counter_add(b"n", b"", 2)?;
    /// store.apply(&Delta::from_call(1, "c", &log))?;
    /// let entries: Vec<Entry> = store.reader().entries("c").collect::<Result<_, _>>()?;
    /// assert_eq!(entries, [
    ///     Entry::Counter { name: b"n".to_vec(), key: vec![], value: 2 },
    ///     Entry::Map { name: b"m".to_vec(), key: b"k".to_vec(), value: b"v".to_vec() },
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entries(
        &self,
        canister: &str,
    ) -> impl Iterator<Item = Result<Entry, StoreError>> + use<> {
        self.scan(canister_prefix(canister))
            .map(|item| item.map(|(_, entry)| entry))
    }

    /// Every entry of every canister, ordered by (canister length, canister), then as
    /// [`StateReader::entries`].
    ///
    /// # Errors
    ///
    /// As [`StateReader::entries`].
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().all_entries().count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_entries(&self) -> impl Iterator<Item = Result<(String, Entry), StoreError>> + use<> {
        self.scan(vec![area::STATE])
    }

    fn scan(
        &self,
        prefix: Vec<u8>,
    ) -> impl Iterator<Item = Result<(String, Entry), StoreError>> + use<> {
        self.records(prefix)
            .filter_map(|(key, value)| decode_entry(&key, &value).transpose())
    }

    /// The committed state root, as persisted in the meta area.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails; [`StoreError::Corrupt`] if the lattice is not
    /// 2048 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Root;
    ///
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().root()?, Root::empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root(&self) -> Result<Root, StoreError> {
        Ok(self.lattice()?.root())
    }

    fn lattice(&self) -> Result<Lattice, StoreError> {
        let _gate = self.shared();
        match self.tree.get(area::META_LATTICE)? {
            Some(bytes) => Ok(Lattice::from_bytes(&bytes)?),
            None => Ok(Lattice::new()),
        }
    }

    /// The last committed seq, as at `m last_seq`: every call at or below it is committed.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if sled fails or the record is corrupt.
    pub fn last_seq(&self) -> Result<Option<u64>, StoreError> {
        let _gate = self.shared();
        self.last_seq_here()
    }

    fn last_seq_here(&self) -> Result<Option<u64>, StoreError> {
        self.tree
            .get(area::META_LAST_SEQ)?
            .map(|value| decode_u64(area::META_LAST_SEQ, &value))
            .transpose()
    }

    /// The committed calls, as at `m last_seq` and `m ahead`, read together.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if sled fails or a record is corrupt.
    pub fn finished(&self) -> Result<Finished, StoreError> {
        let _gate = self.shared();
        let last = self.last_seq_here()?.unwrap_or(0);
        match self.tree.get(area::META_AHEAD)? {
            None => Ok(Finished::through(last)),
            Some(runs) => Finished::decode(last, &runs).ok_or_else(|| StoreError::Corrupt {
                key: hex(area::META_AHEAD),
                what: format!("not runs of seqs above {last}"),
            }),
        }
    }

    /// The lattice recomputed from scratch over the whole state: O(state).
    ///
    /// # Errors
    ///
    /// As [`StateReader::all_entries`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Lattice;
    ///
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().recompute_lattice()?, Lattice::new());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recompute_lattice(&self) -> Result<Lattice, StoreError> {
        let mut lattice = Lattice::new();
        for item in self.all_entries() {
            let (canister, entry) = item?;
            lattice.insert(&entry.as_root_entry(&canister));
        }
        Ok(lattice)
    }

    /// The state root recomputed from scratch: O(state). Equals [`StateReader::root`] (A).
    ///
    /// # Errors
    ///
    /// As [`StateReader::all_entries`].
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().recompute_root()?, store.root());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recompute_root(&self) -> Result<Root, StoreError> {
        Ok(self.recompute_lattice()?.root())
    }
}

/// A scan of the resident state under a prefix ([`StateReader::records`]): its keys are
/// listed, in order, at the first step, and their values read a page at a time.
struct Records {
    gate: Arc<RwLock<Resident>>,
    prefix: Vec<u8>,
    /// The keys not yet read; `None` before the first step.
    keys: Option<std::vec::IntoIter<sled::IVec>>,
    page: std::vec::IntoIter<(Box<[u8]>, sled::IVec)>,
}

/// Records a page holds: enough that the lock is taken rarely, few enough that a reader
/// holds it briefly.
const PAGE: usize = 1024;

impl Iterator for Records {
    type Item = (Box<[u8]>, sled::IVec);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.page.next() {
                return Some(record);
            }
            let state = self.gate.read().unwrap_or_else(|e| e.into_inner());
            let keys = self
                .keys
                .get_or_insert_with(|| state.keys_under(&self.prefix).into_iter());
            if keys.len() == 0 {
                return None;
            }
            // A key a commit removed since the listing is skipped.
            let page: Vec<_> = keys
                .by_ref()
                .take(PAGE)
                .filter_map(|key| Some((Box::from(&key[..]), state.get(&key)?.clone())))
                .collect();
            self.page = page.into_iter();
        }
    }
}

/// The stable structures of every canister, committed by [`Delta`]s.
///
/// `init` loads a store from a tree (or starts an empty one); reads go through
/// [`Store::reader`]; a delta commits with [`Store::apply`], or in two steps with
/// [`Store::prepare`] and [`Store::commit`] when a round adds its own writes to the batch.
///
/// # Durability
///
/// A commit is one journal, atomic but not flushed: [`Store::commit`] flushes it;
/// [`Store::journal`] and [`Store::settle`] leave the flush to the caller, and the state
/// changes only once it is done.
///
/// # Examples
///
/// ```
/// use commute::merge::Delta;
/// use commute::store::Store;
/// use commute::write_log::WriteLog;
///
/// let dir = tempfile::tempdir()?;
/// let db = sled::open(dir.path())?;
/// let mut store = Store::init(&db)?;
/// let mut log = WriteLog::default();
/// log.counter_add(b"hits", b"", 1)?;
/// let root = store.apply(&Delta::from_call(1, "c", &log))?;
/// store.flush()?;
/// assert_eq!(Store::init(&db)?.root(), root);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store {
    reader: StateReader,
    /// The committed lattice, as at `m lattice`.
    lattice: Lattice,
    /// The committed calls, as at `m last_seq` and `m ahead`.
    finished: Finished,
    /// How many commits it has journaled: a commit prepared after another is stale.
    commits: u64,
    /// The id the next journal takes (J4).
    next_journal: u64,
    /// Journals written, not yet applied: flushed by the next settle's caller.
    unapplied: Vec<(u64, Vec<Write>)>,
    /// The checkpoint the state is durable from, with the journals after it; `None`
    /// before the first.
    checkpoint: Option<Named>,
    /// The bytes of the journals written since that checkpoint.
    journaled: usize,
    /// The fewest journal bytes that call for a checkpoint ([`Store::checkpoint_after`]).
    checkpoint_min: usize,
    /// Why the store refuses commits, after a write or flush failed.
    broken: Option<String>,
    /// The fewest entries [`Store::prepare`] splits across the pool: [`SPLIT_MIN`], or
    /// another bound a test sets to take one path or the other.
    split_min: usize,
    /// Asked before each write and flush of the commit path: a test's full disk.
    faults: Arc<Faults>,
    trees: Trees,
    /// Flushes for a commit that goes on meanwhile ([`Store::start_flush`]).
    flush_thread: FlushThread,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root())
            .field("finished", &self.finished)
            .finish()
    }
}

/// Flushes a store's tree from any thread ([`Store::flusher`]).
#[derive(Debug)]
pub(crate) struct Flusher {
    trees: Trees,
    faults: Arc<Faults>,
}

impl Flusher {
    /// Makes everything written durable, on disk ([`Trees::flush`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if the flush fails.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.faults.check("a flush")?;
        self.trees.flush()
    }
}

/// The fewest writes a journal needs for its apply to split across the pool.
pub(crate) const LAND_SPLIT_MIN: usize = resident::PARALLEL_MIN;

/// The fewest items [`split`] hands to the pool: below it, waking workers costs more
/// than it saves, and a small commit (an update round, say) stays on its thread.
const SPLIT_MIN: usize = 64;

/// How many entries' old values a commit looks up together before their digests.
const LOOKUP_GROUP: usize = 16;

/// Folds `items` into an `A` with `fold`, joining partial results with `join`: across the
/// rayon pool this thread is a worker of, when it is one and there are at least `min`
/// items; in order on this thread otherwise. Never on rayon's global pool: a caller that
/// is on no pool (a host holding a lock, a benchmark of one core) gets one thread. `join`
/// must be commutative and associative (lattice sums, unions of disjoint writes), so how
/// rayon splits the items cannot change the result.
fn split<T: Sync, A: Default + Send>(
    items: &[T],
    min: usize,
    fold: impl Fn(&mut A, &T) -> Result<(), StoreError> + Sync,
    join: impl Fn(A, A) -> A + Sync,
) -> Result<A, StoreError> {
    let step = |mut acc: A, item: &T| fold(&mut acc, item).map(|()| acc);
    if items.len() < min || rayon::current_thread_index().is_none() {
        return items.iter().try_fold(A::default(), step);
    }
    items
        .par_iter()
        .try_fold(A::default, step)
        .try_reduce(A::default, |a, b| Ok(join(a, b)))
}

/// The sled trees of a store, all in one database, so that one flush makes all of them
/// durable. Large values live apart from the small records every round rewrites: sled
/// rewrites a whole leaf (up to 16 records) now and then as records in it change, so a
/// 1 MiB module or a retained journal beside the round record would be copied again and
/// again.
#[derive(Debug, Clone)]
pub(crate) struct Trees {
    db: sled::Db,
    /// The queue, idempotency keys, outcomes, meta and round record; the state, in a store
    /// written before checkpoints existed.
    main: sled::Tree,
    /// The journals.
    journal: sled::Tree,
    /// The checkpoint's record and chunks.
    checkpoint: sled::Tree,
    /// The installed canisters (the `i` area).
    installed: sled::Tree,
    /// The database's log and blob files, synced after each flush (`disk.rs`); none for a
    /// store whose directory is not known.
    disk: Option<Arc<Disk>>,
}

impl Trees {
    /// The trees of the store in `db`, moving the journals and installed canisters that a
    /// store written before they had trees of their own keeps in the main tree. Copied,
    /// flushed, then removed: a crash between leaves copies that the next open copies again.
    fn open(db: &sled::Db, disk: Option<Arc<Disk>>) -> Result<Trees, StoreError> {
        let trees = Trees {
            db: db.clone(),
            main: db.open_tree("commute")?,
            journal: db.open_tree("commute-journal")?,
            checkpoint: db.open_tree("commute-checkpoint")?,
            installed: db.open_tree("commute-installed")?,
            disk,
        };
        let moves = [
            (journal::PREFIX, &trees.journal),
            (&[area::INSTALLED][..], &trees.installed),
        ];
        let mut moved = Vec::new();
        for (prefix, to) in moves {
            for item in trees.main.scan_prefix(prefix) {
                let (key, value) = item?;
                to.insert(&key, value)?;
                moved.push(key);
            }
        }
        if !moved.is_empty() {
            trees.flush()?;
            for key in moved {
                trees.main.remove(key)?;
            }
        }
        Ok(trees)
    }

    /// Makes everything written to the database durable, on disk (disk D1).
    fn flush(&self) -> Result<(), StoreError> {
        self.main.flush()?;
        match &self.disk {
            Some(disk) => disk
                .sync()
                .map_err(|e| StoreError::Sled(sled::Error::Io(e))),
            None => Ok(()),
        }
    }

    /// The tree that holds `key`, a record outside the state.
    fn of(&self, key: &[u8]) -> &sled::Tree {
        if key.first() == Some(&area::INSTALLED) {
            &self.installed
        } else {
            &self.main
        }
    }
}

/// Applies the writes of `writes` outside the state (queue, outcomes, meta, the round
/// record, installs) to their trees: the resident state takes the rest (journal J1).
fn apply_foreign(trees: &Trees, faults: &Faults, writes: &[Write]) -> Result<(), StoreError> {
    for (key, value) in writes.iter().filter(|(key, _)| !is_state(key)) {
        journal::apply_one(trees.of(key), faults, key, value.as_ref())?;
    }
    Ok(())
}

/// What an open recovers from `tree`: the state as its last checkpoint and every journal
/// after it leave it (resident R, checkpoint K2), with those journals' other writes applied
/// to the tree again (J1: they may not have been, if the process died before settling
/// them). Journals the checkpoint holds, and its other garbage, are removed (K3).
struct Recovered {
    resident: Resident,
    checkpoint: Option<Named>,
    next_journal: u64,
    journaled: usize,
}

fn recover(trees: &Trees, faults: &Faults) -> Result<Recovered, StoreError> {
    let checkpoint = checkpoint::named(trees)?;
    let mut resident = match checkpoint {
        Some(named) => checkpoint::load(trees, named)?,
        None => Resident::scan(&trees.main)?,
    };
    let from = checkpoint.map_or(0, |named| named.next_journal);
    if let Some(named) = checkpoint {
        checkpoint::collect(trees, faults, named)?;
    }
    let (mut next_journal, mut journaled) = (from, 0);
    let left = journal::left(&trees.journal)?;
    // (J5): a journal that lacks parts was never flushed, so never reported: it goes, and
    // durably, before any journal reuses its id.
    if !left.torn.is_empty() {
        for key in left.torn {
            faults.check("the removal of a torn journal")?;
            trees.journal.remove(key)?;
        }
        faults.check("the flush of a replay")?;
        trees.flush()?;
    }
    for (id, bytes, writes) in left.whole {
        // (K2): never replay a journal the checkpoint holds.
        if id < from {
            continue;
        }
        apply_foreign(trees, faults, &writes)?;
        resident.apply(&writes);
        next_journal = id + 1;
        journaled += bytes;
    }
    if journaled > 0 {
        faults.check("the flush of a replay")?;
        trees.flush()?;
    }
    Ok(Recovered {
        resident,
        checkpoint,
        next_journal,
        journaled,
    })
}

/// A counter or map entry a delta changes.
enum Change<'a> {
    Counter(CounterChange<'a>),
    Map(MapChange<'a>),
}

/// What a share of a delta's [`Change`]s writes: the batch entries (a `None` value
/// removes the key) and the lattice's change, the new digests less the old.
#[derive(Default)]
struct Written {
    writes: Vec<(Vec<u8>, Option<sled::IVec>)>,
    /// Boxed: [`split`]'s fold moves its accumulator in and out at every item, and a
    /// lattice inline (2 KiB) made that two copies of it for every list element.
    lattice: Box<Lattice>,
}

impl Written {
    fn join(mut self, other: Written) -> Written {
        self.writes.extend(other.writes);
        self.lattice.add(&other.lattice);
        self
    }
}

impl Resident {
    /// Adds to `part` what committing each of `changes` writes: takes the entry's committed
    /// value from the resident state, its digest out of the lattice and the new one's in
    /// (invariant A); a counter that sums to 0 is removed (B).
    fn write(&self, part: &mut Written, changes: &[Change<'_>]) -> Result<(), StoreError> {
        let keys: Vec<Vec<u8>> = changes
            .iter()
            .map(|change| match change {
                Change::Counter(c) => scoped(c.canister, COUNTER, c.name, c.key),
                Change::Map(m) => scoped(m.canister, MAP, m.name, m.key),
            })
            .collect();
        // Every old value first (`get_many`), then the digests: between two digests
        // (~0.4 µs each) the lookups' cache misses were taken one at a time.
        let olds = self.get_many(keys.iter().map(Vec::as_slice));
        for ((change, key), old) in changes.iter().zip(keys).zip(olds) {
            Self::write_one(part, change, key, old)?;
        }
        Ok(())
    }

    fn write_one(
        part: &mut Written,
        change: &Change<'_>,
        key: Vec<u8>,
        old: Option<&sled::IVec>,
    ) -> Result<(), StoreError> {
        match change {
            Change::Counter(change) => {
                let entry = |value| RootEntry::Counter {
                    canister: change.canister,
                    name: change.name,
                    key: change.key,
                    value,
                };
                let old = match old {
                    Some(bytes) => decode_counter(&key, bytes)?,
                    None => 0,
                };
                let new = old.wrapping_add(change.delta);
                if old != 0 {
                    part.lattice.remove(&entry(old));
                }
                if new == 0 {
                    part.writes.push((key, None));
                } else {
                    part.lattice.insert(&entry(new));
                    part.writes
                        .push((key, Some(new.to_le_bytes().as_slice().into())));
                }
            }
            Change::Map(change) => {
                fn entry<'a>(change: &MapChange<'a>, value: &'a [u8]) -> RootEntry<'a> {
                    RootEntry::Map {
                        canister: change.canister,
                        name: change.name,
                        key: change.key,
                        value,
                    }
                }
                if let Some(old) = old {
                    part.lattice.remove(&entry(change, old));
                }
                if let Some(value) = change.value {
                    part.lattice.insert(&entry(change, value));
                }
                part.writes.push((key, change.value.map(sled::IVec::from)));
            }
        }
        Ok(())
    }
}

/// A prepared commit: the batch that will apply a [`Delta`], and the root it will give.
///
/// Add the round's other writes (queue removals, outcomes, round record) with
/// [`Commit::insert`] and [`Commit::remove`], then hand it to [`Store::commit`].
#[derive(Debug)]
pub struct Commit {
    batch: Batch,
    lattice: Lattice,
    prepared_at: u64,
    finished: Finished,
}

impl Commit {
    /// The state root once this commit lands.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    ///
    /// let store = Store::temporary()?;
    /// let commit = store.prepare(&Delta::new())?;
    /// assert_eq!(commit.root(), store.root());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root(&self) -> Root {
        self.lattice.root()
    }

    /// The last committed seq once this commit lands.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    ///
    /// let store = Store::temporary()?;
    /// let commit = store.prepare(&Delta::from_call(5, "c", &Default::default()))?;
    /// assert_eq!(commit.last_seq(), Some(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn last_seq(&self) -> Option<u64> {
        watermark(&self.finished)
    }

    /// The committed calls once this commit lands.
    pub fn finished(&self) -> &Finished {
        &self.finished
    }

    /// Whether it lands split across the pool ([`Store::settle_with`]): it holds enough
    /// writes that every worker taking a share of them beats one thread alone. Counted on
    /// the writes prepared (state, lattice, finished calls), before a round adds its queue
    /// removals, outcomes, children and record, which only add to the journal
    /// [`Resident`](resident::Resident) splits by the same bound.
    pub(crate) fn lands_split(&self) -> bool {
        self.batch.0.len() >= LAND_SPLIT_MIN
    }

    fn check_foreign(key: &[u8]) -> Result<(), StoreError> {
        let own = key.first() == Some(&area::STATE)
            || (key.first() == Some(&area::META) && !key.starts_with(area::META_ROUND));
        if own {
            return Err(StoreError::OwnKey { key: hex(key) });
        }
        Ok(())
    }

    /// Adds `key = value` to the batch, to land atomically with the state.
    ///
    /// # Errors
    ///
    /// [`StoreError::OwnKey`] if `key` is in this module's areas (`s`, or `m` outside
    /// `mr…`); the batch is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut commit = store.prepare(&Delta::new())?;
    /// commit.insert(b"o\x01", b"done")?;
    /// assert!(commit.insert(b"s-anything", b"").is_err());
    /// store.commit(commit)?;
    /// assert_eq!(store.reader().tree().get(b"o\x01")?.as_deref(), Some(&b"done"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        Commit::check_foreign(key)?;
        self.batch.insert(key, value);
        Ok(())
    }

    /// Adds the removal of `key` to the batch.
    ///
    /// # Errors
    ///
    /// [`StoreError::OwnKey`] as [`Commit::insert`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    ///
    /// let mut store = Store::temporary()?;
    /// store.reader().tree().insert(b"q\x01", b"call")?;
    /// let mut commit = store.prepare(&Delta::new())?;
    /// commit.remove(b"q\x01")?;
    /// store.commit(commit)?;
    /// assert!(store.reader().tree().get(b"q\x01")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(&mut self, key: &[u8]) -> Result<(), StoreError> {
        Commit::check_foreign(key)?;
        self.batch.remove(key);
        Ok(())
    }
}

impl Store {
    /// Loads the store kept in `tree`, or starts an empty one if `tree` is empty.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails; [`StoreError::Corrupt`] if the meta records do
    /// not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::store::Store;
    ///
    /// let db = sled::Config::new().temporary(true).open()?;
    /// let store = Store::init(&db)?;
    /// assert_eq!(store.last_seq(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn init(db: &sled::Db) -> Result<Store, StoreError> {
        Store::init_with(db, None, Arc::default())
    }

    /// [`Store::init`], syncing `disk` (the files of `db`) after every flush, with the writes
    /// of its replay and of its commits cleared by `faults`.
    pub(crate) fn init_with(
        db: &sled::Db,
        disk: Option<Arc<Disk>>,
        faults: Arc<Faults>,
    ) -> Result<Store, StoreError> {
        let trees = Trees::open(db, disk)?;
        let recovered = recover(&trees, &faults)?;
        let reader = StateReader {
            tree: trees.main.clone(),
            gate: Arc::new(RwLock::new(recovered.resident)),
        };
        Ok(Store {
            lattice: reader.lattice()?,
            finished: reader.finished()?,
            commits: 0,
            next_journal: recovered.next_journal,
            unapplied: Vec::new(),
            checkpoint: recovered.checkpoint,
            journaled: recovered.journaled,
            checkpoint_min: checkpoint::MIN_BYTES,
            broken: None,
            reader,
            split_min: SPLIT_MIN,
            flush_thread: FlushThread::default(),
            faults,
            trees,
        })
    }

    /// The database this store lives in.
    pub fn db(&self) -> &sled::Db {
        &self.trees.db
    }

    /// The tree of the installed canisters' records (`crate::registry`).
    pub fn installed(&self) -> &sled::Tree {
        &self.trees.installed
    }

    /// An empty store in a temporary sled database, removed when dropped. For tests and
    /// examples.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled cannot create it.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.root(), commute::root::Root::empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .flush_every_ms(None)
            .open()?;
        Store::init(&db)
    }

    /// Read access to the committed state.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.reader().list_len("c", b"l")?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reader(&self) -> &StateReader {
        &self.reader
    }

    /// The committed state root. O(1) beyond hashing the 2 KiB lattice.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = commute::store::Store::temporary()?;
    /// assert_eq!(store.root(), store.reader().root()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root(&self) -> Root {
        self.lattice.root()
    }

    /// The highest seq committed so far, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    ///
    /// let mut store = commute::store::Store::temporary()?;
    /// store.apply(&Delta::from_call(3, "c", &Default::default()))?;
    /// assert_eq!(store.last_seq(), Some(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn last_seq(&self) -> Option<u64> {
        watermark(&self.finished)
    }

    /// The committed calls: every seq up to [`Store::last_seq`], and those finished ahead
    /// of it.
    pub fn finished(&self) -> &Finished {
        &self.finished
    }

    /// Builds the batch that commits `delta`, and the lattice it gives, without writing.
    ///
    /// For each entry the delta touches, the old value is taken from the mirror (nothing is
    /// read from sled), its digest subtracted and the new one's added: O(w) for w writes.
    /// Called on a worker of a rayon pool, it splits those reads and digests across the
    /// pool; called anywhere else, it does them in order on its own thread.
    ///
    /// # Errors
    ///
    /// [`StoreError::AlreadyCommitted`] if the delta holds a seq at or below a finished one
    /// (a round that commits calls ahead of others uses [`Store::prepare_round`]);
    /// [`StoreError::Sled`] or [`StoreError::Corrupt`] if a read fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::Store;
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// log.list_push(b"events", b"login")?;
    /// let commit = store.prepare(&Delta::from_call(1, "c", &log))?;
    /// assert_eq!(store.reader().list_len("c", b"events")?, 0); // nothing written yet
    /// let root = commit.root();
    /// assert_eq!(store.commit(commit)?, root);
    /// assert_eq!(store.reader().list_len("c", b"events")?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare(&self, delta: &Delta) -> Result<Commit, StoreError> {
        // (D): refuse what is already committed. The delta must follow every finished seq:
        // it finishes every seq up to its last.
        let last = self.finished.last();
        if let Some(seq) = delta.first_seq().filter(|seq| *seq <= self.finished.max()) {
            return Err(StoreError::AlreadyCommitted { seq, last });
        }
        let mut finished = self.finished.clone();
        if let Some(seq) = delta.last_seq() {
            finished.finish_through(seq);
        }
        self.prepare_finishing(delta, finished)
    }

    /// [`Store::prepare`] for a round: `delta` is the merge of the calls `seqs`, which
    /// finish with it, whether or not each wrote anything, and need not follow every
    /// committed seq: a round may hold a call of one canister that waited while later calls
    /// of others committed.
    ///
    /// # Errors
    ///
    /// [`StoreError::AlreadyCommitted`] if one of `seqs` has finished (D); as
    /// [`Store::prepare`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::{Store, StoreError};
    ///
    /// let mut store = Store::temporary()?;
    /// store.commit(store.prepare_round(&Delta::new(), &[1, 3])?)?;
    /// assert_eq!((store.last_seq(), store.finished().contains(3)), (Some(1), true));
    /// let again = store.prepare_round(&Delta::new(), &[2, 3]);
    /// assert!(matches!(again, Err(StoreError::AlreadyCommitted { seq: 3, last: 1 })));
    /// store.commit(store.prepare_round(&Delta::new(), &[2])?)?;
    /// assert_eq!((store.last_seq(), store.finished().ahead()), (Some(3), 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare_round(&self, delta: &Delta, seqs: &[u64]) -> Result<Commit, StoreError> {
        // (D): refuse what is already committed.
        if let Some(seq) = seqs.iter().find(|seq| self.finished.contains(**seq)) {
            let last = self.finished.last();
            return Err(StoreError::AlreadyCommitted { seq: *seq, last });
        }
        let mut finished = self.finished.clone();
        finished.finish(seqs.iter().copied());
        self.prepare_finishing(delta, finished)
    }

    /// [`Store::prepare`] of `delta`, after which `finished` have finished.
    fn prepare_finishing(&self, delta: &Delta, finished: Finished) -> Result<Commit, StoreError> {
        self.working()?;
        // The old values are the resident state's, which is current only once every
        // journal is settled.
        if !self.unapplied.is_empty() {
            return Err(StoreError::Unsettled);
        }
        let state = self.reader.shared();
        let mut batch = Batch::default();
        let mut lattice = self.lattice.clone();

        // Counter and map entries: each an independent point read and two digests.
        let changes: Vec<Change<'_>> = delta
            .counters()
            .map(Change::Counter)
            .chain(delta.maps().map(Change::Map))
            .collect();
        // In groups, so that a group's lookups go together (`Resident::write`).
        let groups: Vec<&[Change<'_>]> = changes.chunks(LOOKUP_GROUP).collect();
        let written = split(
            &groups,
            self.split_min.div_ceil(LOOKUP_GROUP),
            |part: &mut Written, group| state.write(part, group),
            Written::join,
        )?;
        lattice.add(&written.lattice);
        batch.0.extend(written.writes);

        // (A), (F): list elements are new keys (D), so only their digests are added, and
        // each takes the next position of its list. Positions are counted here, in order;
        // the element and position records and the digests (an element may be MiBs) are
        // made on every worker.
        let mut pushed: BTreeMap<(&str, &[u8]), (u64, u64)> = BTreeMap::new();
        let mut placed: Vec<(ListAppend<'_>, u64)> = Vec::new();
        for push in delta.lists() {
            let list = (push.canister, push.name);
            let (len, count) = match pushed.entry(list) {
                btree_map::Entry::Occupied(slot) => slot.into_mut(),
                btree_map::Entry::Vacant(slot) => {
                    let key = scoped(list.0, LIST_LEN, list.1, b"");
                    let len = match state.get(&key) {
                        Some(value) => decode_u64(&key, value)?,
                        None => 0,
                    };
                    slot.insert((len, 0))
                }
            };
            // (F): by (D) this delta's elements follow every committed one, and `lists()`
            // yields each list's in (seq, index) order, so they take positions len, len + 1…
            placed.push((push, *len + *count));
            *count += 1;
        }
        let elements = split(
            &placed,
            self.split_min,
            |part: &mut Written, (push, pos)| {
                part.lattice.insert(&RootEntry::List {
                    canister: push.canister,
                    name: push.name,
                    seq: push.seq,
                    index: push.index,
                    value: push.value,
                });
                // (D): seq > last committed, so this key was never written: nothing to remove.
                let at = list_element_key(push.seq, push.index);
                let element = scoped(push.canister, LIST, push.name, &at);
                part.writes.push((element, Some(push.value.into())));
                let position = scoped(push.canister, LIST_POS, push.name, &pos.to_be_bytes());
                part.writes.push((position, Some(at[..].into())));
                Ok(())
            },
            Written::join,
        )?;
        lattice.add(&elements.lattice);
        batch.0.extend(elements.writes);
        // (C): each list's length grows by its pushes.
        for ((canister, name), (len, count)) in pushed {
            let key = scoped(canister, LIST_LEN, name, b"");
            let value = sled::IVec::from(&(len + count).to_be_bytes());
            batch.insert(&key[..], value.clone());
        }

        // (E): the lattice and the finished calls go in the same batch as the state.
        if finished != self.finished {
            batch.insert(area::META_LATTICE, &lattice.to_bytes()[..]);
            if finished.last() != self.finished.last() {
                batch.insert(area::META_LAST_SEQ, &finished.last().to_be_bytes());
            }
            match finished.ahead() {
                0 if self.finished.ahead() == 0 => {}
                0 => batch.remove(area::META_AHEAD),
                _ => batch.insert(area::META_AHEAD, finished.encode_ahead()),
            }
        }
        Ok(Commit {
            batch,
            lattice,
            prepared_at: self.commits,
            finished,
        })
    }

    /// Lands a prepared commit atomically and durably (journal J1–J4: written as one
    /// record, flushed, applied), and returns the new root. [`Store::journal`] and
    /// [`Store::settle`] are the same in two steps, for a caller that flushes elsewhere.
    ///
    /// # Errors
    ///
    /// [`StoreError::Stale`] if the store has committed since `commit` was prepared (nothing
    /// is written); [`StoreError::Sled`] if sled fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::{Store, StoreError};
    ///
    /// let mut store = Store::temporary()?;
    /// let first = store.prepare(&Delta::from_call(1, "c", &Default::default()))?;
    /// let rival = store.prepare(&Delta::from_call(2, "c", &Default::default()))?;
    /// store.commit(first)?;
    /// assert!(matches!(store.commit(rival), Err(StoreError::Stale { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(&mut self, commit: Commit) -> Result<Root, StoreError> {
        // No commit landed in between, so the old values read by `prepare` are current.
        if commit.prepared_at != self.commits {
            return Err(StoreError::Stale {
                prepared: commit.prepared_at,
                now: self.commits,
            });
        }
        let root = self.journal(commit)?;
        let flushed = self.flush();
        self.settle(flushed)?;
        Ok(root)
    }

    /// Writes `commit` as one journal, not yet flushed, and makes it the store's
    /// committed state in memory (lattice, last seq, mirror); [`Store::settle`] applies it
    /// to the tree once the caller has flushed (J2). Returns the new root.
    ///
    /// # Errors
    ///
    /// [`StoreError::Stale`] as [`Store::commit`]; [`StoreError::Broken`] after a failed
    /// write; [`StoreError::Sled`] if the write fails (the store is broken then).
    pub fn journal(&mut self, commit: Commit) -> Result<Root, StoreError> {
        self.working()?;
        if commit.prepared_at != self.commits {
            return Err(StoreError::Stale {
                prepared: commit.prepared_at,
                now: self.commits,
            });
        }
        let id = self.next_journal;
        let parts = journal::encode_parts(&commit.batch.0, journal::PART_BYTES);
        let bytes: usize = parts.iter().map(Vec::len).sum();
        let count = u32::try_from(parts.len()).expect("fewer than 2^32 parts");
        for (part, record) in (0..).zip(parts) {
            let inserted = (self.faults.check("the journal's insert")).and_then(|()| {
                let key = journal::key(id, part, count);
                Ok(self.trees.journal.insert(key, record)?)
            });
            if let Err(err) = inserted {
                return Err(self.break_with(err));
            }
        }
        self.next_journal += 1;
        self.journaled += bytes;
        self.lattice = commit.lattice;
        self.finished = commit.finished;
        self.commits += 1;
        self.unapplied.push((id, commit.batch.0));
        Ok(self.root())
    }

    /// Commits `delta` atomically and durably: [`Store::prepare`] then [`Store::commit`].
    /// Returns the new root.
    ///
    /// # Errors
    ///
    /// As [`Store::prepare`]; on error nothing is written.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::merge::Delta;
    /// use commute::store::{Store, StoreError};
    /// use commute::write_log::WriteLog;
    ///
    /// let mut store = Store::temporary()?;
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"hits", b"", 1)?;
    /// let delta = Delta::from_call(1, "c", &log);
    /// let root = store.apply(&delta)?;
    /// let again = store.apply(&delta);
    /// assert!(matches!(again, Err(StoreError::AlreadyCommitted { seq: 1, last: 1 })));
    /// assert_eq!((store.root(), store.reader().counter_get("c", b"hits", b"")?), (root, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&mut self, delta: &Delta) -> Result<Root, StoreError> {
        let commit = self.prepare(delta)?;
        self.commit(commit)
    }

    /// Flushes everything committed to disk. Call before reporting a round done.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] if sled fails.
    ///
    /// # Examples
    ///
    /// ```
    /// commute::store::Store::temporary()?.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) -> Result<(), StoreError> {
        self.flusher().flush()
    }

    /// Starts a flush, as [`Store::flush`], on the store's flush thread, and returns at
    /// once: the caller applies or runs meanwhile, and waits on the [`Pending`].
    pub(crate) fn start_flush(&self) -> Pending {
        let flusher = self.flusher();
        self.flush_thread.start(move || flusher.flush())
    }

    /// What flushes this store from another thread, as [`Store::flush`] does.
    pub(crate) fn flusher(&self) -> Flusher {
        Flusher {
            trees: self.trees.clone(),
            faults: self.faults.clone(),
        }
    }

    /// Applies the journals written since the last settle, now that `flushed` says they
    /// are durable (J2): their state writes to the resident state, the rest (queue,
    /// outcomes, meta) to the tree, in order, with every reader excluded meanwhile. Then, if
    /// the journals since the last checkpoint hold as many bytes as the state (and at least
    /// the floor), takes the next checkpoint.
    ///
    /// # Errors
    ///
    /// The flush's error, or [`StoreError::Sled`] if a write fails. Either way the store is
    /// broken: it refuses further commits, and reopening it replays what is journaled.
    pub fn settle(&mut self, flushed: Result<(), StoreError>) -> Result<(), StoreError> {
        self.settle_split(flushed, true)
    }

    /// Flushes what is journaled, then [`Store::settle`]s it on the calling thread alone,
    /// for a caller whose pool runs other work meanwhile: the gate is held only for as
    /// long as the apply itself takes, never for the flush. A flush that panics leaves the
    /// store broken, as in [`Store::settle_with`]. Returns when the flush ended.
    ///
    /// # Errors
    ///
    /// As [`Store::settle`].
    pub(crate) fn flush_and_settle_here(&mut self) -> Result<std::time::Instant, StoreError> {
        let flushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.flush()));
        match flushed {
            Ok(flushed) => {
                let ended = std::time::Instant::now();
                self.settle_split(flushed, false).map(|()| ended)
            }
            Err(panic) => self.flush_panicked(panic),
        }
    }

    /// Leaves the store broken by a flush that panicked, nothing journaled applied, and
    /// lets the panic go on: reopening it replays what is journaled.
    fn flush_panicked(&mut self, panic: Box<dyn std::any::Any + Send>) -> ! {
        self.unapplied.clear();
        self.broken = Some("a flush panicked".to_string());
        std::panic::resume_unwind(panic)
    }

    fn settle_split(
        &mut self,
        flushed: Result<(), StoreError>,
        split: bool,
    ) -> Result<(), StoreError> {
        if let Err(err) = flushed {
            self.unapplied.clear();
            return Err(self.break_with(err));
        }
        let unapplied = std::mem::take(&mut self.unapplied);
        let gate = Arc::clone(&self.reader.gate);
        let mut state = gate.write().unwrap_or_else(|e| e.into_inner());
        for (_, writes) in &unapplied {
            if split {
                state.apply(writes);
            } else {
                state.apply_here(writes);
            }
        }
        self.settled(&unapplied, state)
    }

    /// [`Store::settle`], with `flush` waiting for the flush: the state writes land in the
    /// resident state while it is still under way, which is most of a settle's work off
    /// the wait on the disk. Every reader is excluded from before they land until the
    /// flush has ended, so none sees a journal that is not durable (J2); if the flush
    /// fails or panics, they are taken back out ([`Resident::undo`]) before the gate
    /// opens, and the resident state is what it was.
    ///
    /// # Errors
    ///
    /// As [`Store::settle`].
    pub(crate) fn settle_with(
        &mut self,
        flush: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let unapplied = std::mem::take(&mut self.unapplied);
        let gate = Arc::clone(&self.reader.gate);
        let mut state = gate.write().unwrap_or_else(|e| e.into_inner());
        let undo: Vec<_> = unapplied
            .iter()
            .map(|(_, writes)| state.apply_undoable(writes))
            .collect();
        let flushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(flush));
        if let Ok(Ok(())) = flushed {
            let settled = self.settled(&unapplied, state);
            // What the writes replaced is freed with the gate open.
            drop(undo);
            return settled;
        }
        for ((_, writes), undo) in unapplied.iter().zip(undo).rev() {
            state.undo(writes, undo);
        }
        drop(state);
        match flushed {
            Ok(Err(err)) => Err(self.break_with(err)),
            Err(panic) => self.flush_panicked(panic),
            Ok(Ok(())) => unreachable!("settled above"),
        }
    }

    /// The rest of a settle once the journals' state writes are in `state` and durable:
    /// their other writes to the tree, then the gate opens, then a checkpoint if one is due.
    fn settled(
        &mut self,
        unapplied: &[(u64, Vec<Write>)],
        state: std::sync::RwLockWriteGuard<'_, Resident>,
    ) -> Result<(), StoreError> {
        let result = (|| {
            for (_, writes) in unapplied {
                apply_foreign(&self.trees, &self.faults, writes)?;
            }
            let due = self.journaled > 0
                && (self.checkpoint_min == 0
                    || self.journaled >= self.checkpoint_min.max(state.bytes()));
            drop(state);
            if due {
                self.write_checkpoint()?;
            }
            Ok(())
        })();
        result.map_err(|err| self.break_with(err))
    }

    /// Writes the resident state as the next checkpoint, now, and drops the journals it
    /// holds (checkpoint K1–K3). Flushes and settles what is journaled first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Broken`] if the store is; [`StoreError::Sled`] if a write or a flush
    /// fails, after which the store is broken and reopening it recovers from the last
    /// checkpoint and the journals.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.working()?;
        if !self.unapplied.is_empty() {
            let flushed = self.flush();
            self.settle(flushed)?;
        }
        self.write_checkpoint().map_err(|err| self.break_with(err))
    }

    fn write_checkpoint(&mut self) -> Result<(), StoreError> {
        let state = self.reader.shared();
        let named = checkpoint::write(
            &self.trees,
            &self.faults,
            &state,
            self.checkpoint,
            self.next_journal,
        )?;
        drop(state);
        self.checkpoint = Some(named);
        self.journaled = 0;
        Ok(())
    }

    /// Makes a settle take a checkpoint once at least `bytes` (and as many as the state
    /// holds) have been journaled since the last; 0: after every settle.
    pub fn checkpoint_after(&mut self, bytes: usize) {
        self.checkpoint_min = bytes;
    }

    /// Whether the store still commits: [`StoreError::Broken`] once a write or a flush
    /// failed, until it is reopened.
    ///
    /// # Errors
    ///
    /// [`StoreError::Broken`], naming the failure.
    pub(crate) fn working(&self) -> Result<(), StoreError> {
        match &self.broken {
            Some(reason) => Err(StoreError::Broken(reason.clone())),
            None => Ok(()),
        }
    }

    /// Marks the store broken by `err`, and returns it.
    fn break_with(&mut self, err: StoreError) -> StoreError {
        self.broken = Some(err.to_string());
        err
    }

    /// Checks invariants (A)–(C) and (F) from scratch: the persisted lattice equals the
    /// recomputed one, no counter holds 0, each list length record counts its elements, and
    /// each list's position records name its elements in order. O(state log state).
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] naming the first record at fault; [`StoreError::Sled`] if
    /// sled fails.
    ///
    /// # Examples
    ///
    /// ```
    /// commute::store::Store::temporary()?.verify()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<(), StoreError> {
        // The persisted lattice, read before the state's lock is taken: a second read lock
        // on this thread could wait behind a writer that waits for the first.
        let persisted = self.reader.lattice()?;
        let state = self.reader.shared();
        // Every record, sorted once: each list's elements are a range of it.
        let all = state.prefixed(&[area::STATE]);
        let mut lattice = Lattice::new();
        // Keyed by each list's length key: its elements, and its position records.
        let mut lengths: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut positions: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for (key, value) in &all {
            let (key, value) = (&key[..], *value);
            let Some((canister, entry)) = decode_entry(key, value)? else {
                let (canister, kind, name, _) = parse_state_key(key).expect("decoded above");
                let length_key = scoped(canister, LIST_LEN, name, b"");
                if kind == LIST_POS {
                    *positions.entry(length_key).or_default() += 1;
                } else {
                    lengths.entry(length_key).or_default();
                }
                continue;
            };
            match &entry {
                Entry::Counter { value: 0, .. } => return Err(corrupt(key, "counter holds 0")),
                Entry::List { name, .. } => {
                    *lengths
                        .entry(scoped(&canister, LIST_LEN, name, b""))
                        .or_default() += 1;
                }
                _ => {}
            }
            lattice.insert(&entry.as_root_entry(&canister));
        }
        for (key, &count) in &lengths {
            let stored = match state.get(key) {
                Some(bytes) => decode_u64(key, bytes)?,
                None => 0,
            };
            if stored != count || count == 0 {
                return Err(corrupt(
                    key,
                    format!("list length {stored}, but {count} elements"),
                ));
            }
        }
        let lists: BTreeSet<&Vec<u8>> = lengths.keys().chain(positions.keys()).collect();
        for key in lists {
            let records = positions.get(key).copied().unwrap_or(0);
            Self::verify_positions(&state, &all, key, records)?;
        }
        if lattice != persisted || lattice != self.lattice {
            return Err(corrupt(
                area::META_LATTICE,
                "lattice differs from the state's",
            ));
        }
        Ok(())
    }

    /// Checks (F) for the list whose length key is `length_key`, which has `records`
    /// position records: walking its elements in order, those from some position on each
    /// have a record naming them, and no other record exists. `all` is every record of
    /// `state`, sorted.
    fn verify_positions(
        state: &Resident,
        all: &[(sled::IVec, &sled::IVec)],
        length_key: &[u8],
        records: u64,
    ) -> Result<(), StoreError> {
        let (canister, _, name, _) = parse_state_key(length_key).expect("built by scoped");
        let scope = scoped(canister, LIST, name, b"");
        let first = all.partition_point(|(key, _)| key[..] < scope[..]);
        let elements = all[first..]
            .iter()
            .take_while(|(key, _)| key.starts_with(&scope));
        let mut indexed = 0;
        for (pos, (element, _)) in (0u64..).zip(elements) {
            let pos_key = scoped(canister, LIST_POS, name, &pos.to_be_bytes());
            match state.get(&pos_key) {
                Some(at) if at == &element[scope.len()..] => indexed += 1,
                Some(_) => {
                    return Err(corrupt(
                        &pos_key,
                        format!("position {pos} names another element"),
                    ))
                }
                None if indexed > 0 => {
                    return Err(corrupt(
                        &pos_key,
                        format!("position {pos} has no record, but an earlier one has"),
                    ))
                }
                None => {}
            }
        }
        if records != indexed {
            return Err(corrupt(
                &scoped(canister, LIST_POS, name, b""),
                format!("{records} position records, but {indexed} in the list's range"),
            ));
        }
        Ok(())
    }
}

/// Compares `actual` with the golden file at `path` (relative to the crate), or rewrites
/// the file when `COMMUTE_BLESS=1`.
#[cfg(test)]
pub(crate) fn check_golden(path: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("COMMUTE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; run with COMMUTE_BLESS=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{} changed; if on purpose, rerun with COMMUTE_BLESS=1",
        path.display()
    );
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod laws {
    //! The read API against a `BTreeMap` model, as a quickcheck property.

    use std::collections::BTreeMap;

    use super::{scoped, Store, LIST_POS};
    use crate::merge::laws::{quickcheck, Calls, Shape, CANISTERS};
    use crate::merge::Delta;
    use crate::root::list_element_key;
    use crate::write_log::arbitrary::{KEYS, NAMES};
    use crate::write_log::Op;

    /// The state as one-at-a-time execution in seq order defines it.
    #[derive(Default)]
    struct Model {
        counters: BTreeMap<(String, Vec<u8>, Vec<u8>), i128>,
        maps: BTreeMap<(String, Vec<u8>, Vec<u8>), Vec<u8>>,
        /// Each list's elements in push order.
        lists: BTreeMap<(String, Vec<u8>), Vec<Element>>,
    }

    /// A list element with the `(seq, index)` that pushed it.
    type Element = ((u64, u32), Vec<u8>);

    impl Model {
        fn run(calls: &Calls) -> Model {
            let mut model = Model::default();
            for call in calls.in_seq_order() {
                let c = call.canister.to_owned();
                for (index, op) in (0u32..).zip(call.log.ops()) {
                    match op.clone() {
                        Op::CounterAdd { name, key, delta } => {
                            let sum = model.counters.entry((c.clone(), name, key)).or_default();
                            *sum = sum.wrapping_add(i128::from(delta));
                        }
                        Op::MapPut { name, key, value } => {
                            model.maps.insert((c.clone(), name, key), value);
                        }
                        Op::MapRemove { name, key } => {
                            model.maps.remove(&(c.clone(), name, key));
                        }
                        Op::ListPush { name, value } => {
                            model
                                .lists
                                .entry((c.clone(), name))
                                .or_default()
                                .push(((call.seq, index), value));
                        }
                    }
                }
            }
            model
        }
    }

    /// For every canister, name and key of the alphabets: `counter_get`, `map_get`,
    /// `map_next_key`, `list_len`, `list_iter` and `list_get` (at every position and one
    /// past the end) of the store committed in any grouping of rounds = those of the model,
    /// and every position record names the element the model has there.
    #[test]
    fn prop_reads_match_model() {
        fn prop(calls: Calls, shape: Shape) -> bool {
            let model = Model::run(&calls);
            let mut store = Store::temporary().unwrap();
            for round in shape.group(calls.in_seq_order()) {
                let delta =
                    Delta::from_calls(round.iter().map(|c| (c.seq, c.canister, &c.log))).unwrap();
                store.apply(&delta).unwrap();
            }
            store.verify().unwrap();
            let reader = store.reader();
            for &canister in CANISTERS {
                for &name in NAMES {
                    let id = |key: &[u8]| (canister.to_owned(), name.to_vec(), key.to_vec());
                    for &key in KEYS {
                        let counter = model.counters.get(&id(key)).copied().unwrap_or(0);
                        assert_eq!(reader.counter_get(canister, name, key).unwrap(), counter);
                        assert_eq!(
                            reader.map_get(canister, name, key).unwrap(),
                            model.maps.get(&id(key)).cloned()
                        );
                        let next = model
                            .maps
                            .range((
                                std::ops::Bound::Excluded(id(key)),
                                std::ops::Bound::Unbounded,
                            ))
                            .next()
                            .filter(|((c, n, _), _)| c == canister && n == name)
                            .map(|((_, _, k), _)| k.clone());
                        assert_eq!(
                            reader.map_next_key(canister, name, Some(key)).unwrap(),
                            next
                        );
                    }
                    let first = model
                        .maps
                        .range(id(b"")..)
                        .next()
                        .filter(|((c, n, _), _)| c == canister && n == name)
                        .map(|((_, _, k), _)| k.clone());
                    assert_eq!(reader.map_next_key(canister, name, None).unwrap(), first);
                    let list = model
                        .lists
                        .get(&(canister.to_owned(), name.to_vec()))
                        .cloned()
                        .unwrap_or_default();
                    assert_eq!(reader.list_len(canister, name).unwrap(), list.len() as u64);
                    let values: Vec<Vec<u8>> = list.iter().map(|(_, v)| v.clone()).collect();
                    let iterated: Result<Vec<Vec<u8>>, _> =
                        reader.list_iter(canister, name).collect();
                    assert_eq!(iterated.unwrap(), values);
                    for i in 0..=list.len() {
                        assert_eq!(
                            reader.list_get(canister, name, i as u64).unwrap(),
                            values.get(i).cloned()
                        );
                        // (F) with k = 0: list_get would hide a missing record by walking,
                        // so check each position record itself.
                        let at = list
                            .get(i)
                            .map(|&((seq, index), _)| list_element_key(seq, index));
                        let record = reader
                            .resident()
                            .get(&scoped(canister, LIST_POS, name, &(i as u64).to_be_bytes()))
                            .cloned();
                        assert_eq!(record.as_deref(), at.as_ref().map(|at| &at[..]));
                    }
                }
            }
            true
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape) -> bool);
    }

    /// Splitting a commit's reads and digests across a pool changes nothing: committing
    /// every round with each entry its own share, on 4 workers, gives after every round the
    /// root, and at the end the state, of committing them in order on one thread.
    #[test]
    fn prop_a_split_prepare_is_the_prepare_in_order() {
        fn prop(calls: Calls, shape: Shape) -> bool {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(4)
                .build()
                .unwrap();
            let (mut in_order, mut split) =
                (Store::temporary().unwrap(), Store::temporary().unwrap());
            in_order.split_min = usize::MAX;
            split.split_min = 1;
            for round in shape.group(calls.in_seq_order()) {
                let delta =
                    Delta::from_calls(round.iter().map(|c| (c.seq, c.canister, &c.log))).unwrap();
                let root = in_order.apply(&delta).unwrap();
                assert_eq!(pool.install(|| split.apply(&delta)).unwrap(), root);
            }
            split.verify().unwrap();
            let entries = |store: &Store| -> Vec<_> {
                store.reader().all_entries().map(Result::unwrap).collect()
            };
            entries(&split) == entries(&in_order)
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape) -> bool);
    }
}
