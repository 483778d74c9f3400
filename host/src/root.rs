//! The state root: a lattice hash over every entry of every canister's stable structures
//! (`docs/modes.md`).
//!
//! # Construction
//!
//! Each entry of the state (a counter entry, a map entry, a list element; see [`Entry`])
//! has a *digest*: 2048 bytes of blake3 extendable output, read as [`LANES`] = 1024
//! little-endian `u16` lanes. The [`Lattice`] of a state is the lane-wise wrapping sum of
//! the digests of its entries, an element of (ℤ/2¹⁶)¹⁰²⁴. The 32-byte [`Root`] is the
//! blake3 hash of the lattice's 2048 bytes. This is the accounts lattice hash of Solana
//! (SIMD-0215), itself the LtHash of Bellare–Micciancio as analysed by Lewi, Kim, Maykov and
//! Weis ("Securing update propagation with homomorphic hashing", 2019).
//!
//! # Why this construction
//!
//! - **Order-free.** Lane-wise addition is commutative and associative, so the lattice of a
//!   state is a function of its *set* of entries alone: not of the order commits touched
//!   them, nor of thread count, completion order, restarts or machine. There is no tree
//!   shape to agree on, and nothing to sort.
//! - **Incremental.** Changing an entry from `old` to `new` is `lattice - digest(old) +
//!   digest(new)`: two XOF evaluations, whatever the size of the state. A commit therefore
//!   costs time proportional to its writes, and the only thing persisted besides the state
//!   is the 2 KiB lattice itself. A Merkle tree would also be incremental, but costs
//!   O(log n) node hashes and node writes per change, and needs a canonical tree over sled's
//!   key order kept on disk beside the data.
//! - **Lanes, not one 256-bit sum.** A single sum of 256-bit hashes modulo 2²⁵⁶ is broken by
//!   Wagner's generalized-birthday algorithm: finding a multiset of entries whose digests sum
//!   to a chosen value takes subexponential time in 256 bits. With 1024 lanes of 16 bits,
//!   collision resistance reduces to the short-integer-solution lattice problem in dimension
//!   1024, estimated at well over 128 bits of security by Lewi et al. for these parameters.
//!
//! The sum is a *multiset* hash: inserting the same entry twice counts it twice. The store
//! keeps each entry key at most once, with one value, so the multiset is a set.
//!
//! # Digest input
//!
//! The XOF input is domain-separated by blake3's key-derivation mode with the context
//! [`ENTRY_CONTEXT`], and every field is length-prefixed, so no two distinct entries share an
//! input:
//!
//! ```text
//! u64 LE len ‖ canister  ‖  kind (1 byte: b'c' counter, b'm' map, b'l' list)
//! u64 LE len ‖ name      ‖  u64 LE len ‖ key  ‖  u64 LE len ‖ value
//! ```
//!
//! where a list element's key is its `seq` (u64 big-endian) then `index` (u32 big-endian),
//! and a counter's value is its `i128` little-endian (the bytes the `counter_get` import
//! writes). `root/entry_digests.golden` pins the input layout.
//!
//! This module is a leaf: it knows entries and hashes, and imports nothing else of commute.
//! [`crate::store`] keeps the lattice up to date as it commits.

use std::fmt;

use thiserror::Error;

/// The number of `u16` lanes in a [`Lattice`].
pub const LANES: usize = 1024;

/// The byte size of a [`Lattice`] and of an entry's digest.
pub const LATTICE_BYTES: usize = 2 * LANES;

/// The blake3 key-derivation context that separates entry digests from every other use.
pub const ENTRY_CONTEXT: &str = "commute 2025-01 state entry digest v1";

/// A lattice could not be read back.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RootError {
    /// The stored lattice is not [`LATTICE_BYTES`] long.
    #[error("lattice is {len} bytes, expected {LATTICE_BYTES}")]
    BadLatticeLength {
        /// The length found.
        len: usize,
    },
}

/// One entry of the state, as the root sees it.
///
/// # Examples
///
/// ```
/// use commute::root::{Entry, Lattice};
///
/// let entry = Entry::Counter { canister: "web", name: b"views", key: b"/", value: 3 };
/// let mut lattice = Lattice::new();
/// lattice.insert(&entry);
/// assert_ne!(lattice, Lattice::new());
/// lattice.remove(&entry);
/// assert_eq!(lattice, Lattice::new());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// Entry `key` of counter `name`, holding a non-zero `value`.
    Counter {
        /// The canister it belongs to.
        canister: &'a str,
        /// The counter's name.
        name: &'a [u8],
        /// The entry within the counter.
        key: &'a [u8],
        /// Its value; the store never holds 0.
        value: i128,
    },
    /// Key `key` of map `name`, holding `value`.
    Map {
        /// The canister it belongs to.
        canister: &'a str,
        /// The map's name.
        name: &'a [u8],
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// The element of list `name` pushed by op `index` of call `seq`.
    List {
        /// The canister it belongs to.
        canister: &'a str,
        /// The list's name.
        name: &'a [u8],
        /// The seq of the call that pushed it.
        seq: u64,
        /// The index of the push within that call's ops.
        index: u32,
        /// The value.
        value: &'a [u8],
    },
}

impl Entry<'_> {
    /// The entry's digest, as a lattice element: the lattice of the state holding only it.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Entry, Lattice};
    ///
    /// let entry = Entry::Map { canister: "c", name: b"m", key: b"k", value: b"v" };
    /// let mut lattice = Lattice::new();
    /// lattice.insert(&entry);
    /// assert_eq!(entry.digest(), lattice);
    /// ```
    pub fn digest(&self) -> Lattice {
        Lattice::from_array(&self.digest_bytes())
    }

    /// The digest's 2048 bytes (the lanes, little-endian), as the XOF gives them.
    fn digest_bytes(&self) -> [u8; LATTICE_BYTES] {
        // Deriving the key from the context is itself a blake3 hash: done once a thread, not
        // per entry, and each digest starts from that hasher reset. Not from a copy of it:
        // a `Hasher` is ~1.9 KB (its stack of chaining values), and a 2 KiB digest took
        // 370 ns from a copy, 348 ns from a reset (criterion, side by side, 3 of 3).
        thread_local! {
            static HASHER: std::cell::RefCell<blake3::Hasher> =
                std::cell::RefCell::new(blake3::Hasher::new_derive_key(ENTRY_CONTEXT));
        }
        let list_key;
        let counter_value;
        let (canister, kind, name, key, value): (&str, u8, &[u8], &[u8], &[u8]) = match *self {
            Entry::Counter {
                canister,
                name,
                key,
                value,
            } => {
                counter_value = value.to_le_bytes();
                (canister, b'c', name, key, &counter_value)
            }
            Entry::Map {
                canister,
                name,
                key,
                value,
            } => (canister, b'm', name, key, value),
            Entry::List {
                canister,
                name,
                seq,
                index,
                value,
            } => {
                list_key = list_element_key(seq, index);
                (canister, b'l', name, &list_key, value)
            }
        };
        // The input: each field length-prefixed (u64 LE), the kind after the canister.
        let lens = [canister.as_bytes(), name, key, value].map(|f| (f.len() as u64).to_le_bytes());
        let pieces: [&[u8]; 9] = [
            &lens[0],
            canister.as_bytes(),
            &[kind],
            &lens[1],
            name,
            &lens[2],
            key,
            &lens[3],
            value,
        ];
        // In one `update` when it fits the digest's own buffer, which the XOF overwrites
        // after: blake3's per-call overhead was ~40% of a small entry's digest.
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        let mut bytes = [0u8; LATTICE_BYTES];
        HASHER.with_borrow_mut(|hasher| {
            hasher.reset();
            if len <= LATTICE_BYTES {
                let buffer = &mut bytes[..len];
                let mut at = 0;
                for piece in pieces {
                    buffer[at..at + piece.len()].copy_from_slice(piece);
                    at += piece.len();
                }
                hasher.update(buffer);
            } else {
                for piece in pieces {
                    hasher.update(piece);
                }
            }
            hasher.finalize_xof().fill(&mut bytes);
        });
        bytes
    }
}

/// The key of a list element: `seq` big-endian, then `index` big-endian, so that byte order
/// is `(seq, index)` order. The store uses the same bytes.
///
/// # Examples
///
/// ```
/// assert_eq!(commute::root::list_element_key(1, 2), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
/// ```
pub fn list_element_key(seq: u64, index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&seq.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The lane-wise sum of the digests of a set of entries; see the module doc.
///
/// # Invariants
///
/// - (A) For the store's lattice: it equals the sum of [`Entry::digest`] over every entry of
///   the committed state. [`Lattice::insert`] and [`Lattice::remove`] keep it when called
///   once for each entry added and removed; [`Lattice::from_entries`] recomputes it.
///
/// # Examples
///
/// ```
/// use commute::root::{Entry, Lattice};
///
/// let a = Entry::List { canister: "c", name: b"events", seq: 1, index: 0, value: b"x" };
/// let b = Entry::Map { canister: "c", name: b"last", key: b"ann", value: b"x" };
/// let mut forward = Lattice::new();
/// forward.insert(&a);
/// forward.insert(&b);
/// assert_eq!(forward, Lattice::from_entries([b, a]));
/// assert_eq!(forward.root(), Lattice::from_entries([a, b]).root());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Lattice {
    lanes: [u16; LANES],
}

impl Default for Lattice {
    fn default() -> Self {
        Lattice { lanes: [0; LANES] }
    }
}

impl fmt::Debug for Lattice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Lattice").field(&self.root()).finish()
    }
}

impl Lattice {
    /// The lattice of the empty state: every lane 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Lattice;
    ///
    /// assert_eq!(Lattice::new().to_bytes(), [0u8; 2048]);
    /// ```
    pub fn new() -> Self {
        Lattice::default()
    }

    /// The lattice of `entries`, from scratch: O(number of entries).
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Lattice;
    ///
    /// assert_eq!(Lattice::from_entries([]), Lattice::new());
    /// ```
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = Entry<'a>>) -> Self {
        let mut lattice = Lattice::new();
        for entry in entries {
            lattice.insert(&entry);
        }
        lattice
    }

    /// Adds `entry`'s digest: the state gained `entry`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Entry, Lattice};
    ///
    /// let mut lattice = Lattice::new();
    /// lattice.insert(&Entry::Map { canister: "c", name: b"m", key: b"k", value: b"v" });
    /// assert_ne!(lattice, Lattice::new());
    /// ```
    pub fn insert(&mut self, entry: &Entry<'_>) {
        self.mix(entry, u16::wrapping_add);
    }

    /// Subtracts `entry`'s digest: the state lost `entry`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Entry, Lattice};
    ///
    /// let entry = Entry::Map { canister: "c", name: b"m", key: b"k", value: b"v" };
    /// let mut lattice = Lattice::new();
    /// lattice.remove(&entry);
    /// lattice.insert(&entry);
    /// assert_eq!(lattice, Lattice::new());
    /// ```
    pub fn remove(&mut self, entry: &Entry<'_>) {
        self.mix(entry, u16::wrapping_sub);
    }

    /// Combines `entry`'s digest into each lane with `op`, straight from the XOF's bytes,
    /// without building a second 2 KiB lattice.
    #[inline]
    fn mix(&mut self, entry: &Entry<'_>, op: impl Fn(u16, u16) -> u16) {
        let digest = entry.digest_bytes();
        for (lane, chunk) in self.lanes.iter_mut().zip(digest.chunks_exact(2)) {
            *lane = op(*lane, u16::from_le_bytes([chunk[0], chunk[1]]));
        }
    }

    /// Lane-wise wrapping addition: the lattice of the union of two disjoint states.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Entry, Lattice};
    ///
    /// let a = Entry::Map { canister: "c", name: b"m", key: b"a", value: b"" };
    /// let b = Entry::Map { canister: "c", name: b"m", key: b"b", value: b"" };
    /// let mut sum = a.digest();
    /// sum.add(&b.digest());
    /// assert_eq!(sum, Lattice::from_entries([a, b]));
    /// ```
    pub fn add(&mut self, other: &Lattice) {
        for (lane, add) in self.lanes.iter_mut().zip(&other.lanes) {
            *lane = lane.wrapping_add(*add);
        }
    }

    /// Lane-wise wrapping subtraction, the inverse of [`Lattice::add`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Entry, Lattice};
    ///
    /// let digest = Entry::Map { canister: "c", name: b"m", key: b"a", value: b"" }.digest();
    /// let mut lattice = digest.clone();
    /// lattice.sub(&digest);
    /// assert_eq!(lattice, Lattice::new());
    /// ```
    pub fn sub(&mut self, other: &Lattice) {
        for (lane, sub) in self.lanes.iter_mut().zip(&other.lanes) {
            *lane = lane.wrapping_sub(*sub);
        }
    }

    /// The 32-byte state root: blake3 of [`Lattice::to_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Lattice;
    ///
    /// assert_eq!(Lattice::new().root().as_bytes(), blake3::hash(&[0u8; 2048]).as_bytes());
    /// ```
    pub fn root(&self) -> Root {
        Root(*blake3::hash(&self.to_bytes()).as_bytes())
    }

    /// The lanes as 2048 little-endian bytes, as persisted.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Lattice;
    ///
    /// let lattice = Lattice::new();
    /// assert_eq!(Lattice::from_bytes(&lattice.to_bytes()), Ok(lattice));
    /// ```
    pub fn to_bytes(&self) -> [u8; LATTICE_BYTES] {
        let mut bytes = [0u8; LATTICE_BYTES];
        for (chunk, lane) in bytes.chunks_exact_mut(2).zip(&self.lanes) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        bytes
    }

    /// Reads back [`Lattice::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`RootError::BadLatticeLength`] if `bytes` is not [`LATTICE_BYTES`] long.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Lattice, RootError};
    ///
    /// assert_eq!(Lattice::from_bytes(&[0; 3]), Err(RootError::BadLatticeLength { len: 3 }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RootError> {
        let bytes: &[u8; LATTICE_BYTES] = bytes
            .try_into()
            .map_err(|_| RootError::BadLatticeLength { len: bytes.len() })?;
        Ok(Lattice::from_array(bytes))
    }

    fn from_array(bytes: &[u8; LATTICE_BYTES]) -> Self {
        let mut lattice = Lattice::new();
        for (lane, chunk) in lattice.lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([chunk[0], chunk[1]]);
        }
        lattice
    }
}

/// The 32-byte state root. Displays as 64 lowercase hex digits.
///
/// # Examples
///
/// ```
/// use commute::root::Lattice;
///
/// let root = Lattice::new().root();
/// assert_eq!(root.to_string().len(), 64);
/// assert_eq!(root.to_string(), root.to_hex());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Root([u8; 32]);

impl Root {
    /// The root of the empty state.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::{Lattice, Root};
    ///
    /// assert_eq!(Root::empty(), Lattice::new().root());
    /// ```
    pub fn empty() -> Root {
        Lattice::new().root()
    }

    /// A root from its bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Root;
    ///
    /// assert_eq!(Root::from_bytes([7; 32]).as_bytes(), &[7; 32]);
    /// ```
    pub fn from_bytes(bytes: [u8; 32]) -> Root {
        Root(bytes)
    }

    /// The root's bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Root;
    ///
    /// assert_eq!(Root::empty().as_bytes().len(), 32);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The root as 64 lowercase hex digits, as `commute root` prints it.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::root::Root;
    ///
    /// assert!(Root::from_bytes([0xab; 32]).to_hex().starts_with("abab"));
    /// ```
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root({self})")
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod laws {
    //! The laws of the state root as quickcheck properties.

    use std::collections::BTreeMap;

    use quickcheck::{Arbitrary, Gen, TestResult};

    use super::{Entry, Lattice};
    use crate::merge::laws::{quickcheck, Calls, Shape};
    use crate::merge::Delta;
    use crate::store::Store;

    /// Owned map entries `(canister, name, key) -> value`, a generated state.
    type Owned = BTreeMap<(String, Vec<u8>, Vec<u8>), Vec<u8>>;

    fn entries(state: &Owned) -> impl Iterator<Item = Entry<'_>> {
        state
            .iter()
            .map(|((canister, name, key), value)| Entry::Map {
                canister,
                name,
                key,
                value,
            })
    }

    fn arbitrary_state(g: &mut Gen) -> Owned {
        let pairs = Vec::<(u8, u8, u8, Vec<u8>)>::arbitrary(g);
        pairs
            .into_iter()
            .map(|(c, n, k, v)| ((format!("c{}", c % 3), vec![n % 3], vec![k % 4]), v))
            .collect()
    }

    /// `store.root() = recompute(store)` after every commit of any sequence of rounds, and
    /// after reopening the store.
    #[test]
    fn prop_incremental_root_equals_recomputed() {
        fn prop(calls: Calls, shape: Shape) -> bool {
            let rounds = shape.group(calls.in_seq_order());
            let mut store = Store::temporary().unwrap();
            for round in rounds {
                let delta =
                    Delta::from_calls(round.iter().map(|c| (c.seq, c.canister, &c.log))).unwrap();
                let root = store.apply(&delta).unwrap();
                let recomputed = store.reader().recompute_root().unwrap();
                let persisted = store.reader().root().unwrap();
                if root != recomputed || root != persisted || root != store.root() {
                    return false;
                }
            }
            let reopened = Store::init(store.db()).unwrap();
            reopened.root() == store.root() && reopened.last_seq() == store.last_seq()
        }
        quickcheck().quickcheck(prop as fn(Calls, Shape) -> bool);
    }

    /// `root(S) ≠ root(S')` whenever `S'` differs from `S` in one entry's value, or by one
    /// entry added or removed.
    #[test]
    fn prop_root_changes_when_any_entry_changes() {
        fn prop(seed: u64, pick: usize, extra: u8) -> TestResult {
            let state = arbitrary_state(&mut Gen::new(seed as usize % 24 + 1));
            let root = Lattice::from_entries(entries(&state)).root();
            let Some((id, _)) = state.iter().nth(pick % state.len().max(1)) else {
                // Adding an entry to the empty state changes the root.
                let one = Entry::Map {
                    canister: "c",
                    name: b"n",
                    key: b"k",
                    value: &[extra],
                };
                return TestResult::from_bool(Lattice::from_entries([one]).root() != root);
            };
            let mut changed = state.clone();
            changed.get_mut(id).unwrap().push(extra);
            let mut removed = state.clone();
            removed.remove(id);
            let mut added = state.clone();
            added.insert(("new".into(), id.1.clone(), id.2.clone()), vec![extra]);
            TestResult::from_bool(
                [changed, removed, added]
                    .iter()
                    .all(|s| Lattice::from_entries(entries(s)).root() != root),
            )
        }
        quickcheck().quickcheck(prop as fn(u64, usize, u8) -> TestResult);
    }

    /// `insert(e1); …; insert(en) = insert(eπ(1)); …; insert(eπ(n))`, and `remove` undoes
    /// `insert`: the lattice depends on the set of entries alone.
    #[test]
    fn prop_lattice_independent_of_order() {
        fn prop(seed: u64, rotate: usize) -> bool {
            let state = arbitrary_state(&mut Gen::new(seed as usize % 24 + 1));
            let forward = Lattice::from_entries(entries(&state));
            let mut list: Vec<Entry<'_>> = entries(&state).collect();
            list.reverse();
            let len = list.len().max(1);
            list.rotate_left(rotate % len);
            let mut back = Lattice::from_entries(list.iter().copied());
            let same = back == forward;
            for entry in &list {
                back.remove(entry);
            }
            same && back == Lattice::new()
        }
        quickcheck().quickcheck(prop as fn(u64, usize) -> bool);
    }
}
