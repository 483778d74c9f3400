//! [`Map`]: a sorted map in stable memory, and its iterators [`Iter`], [`Keys`], [`Values`].

use std::borrow::Cow;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use crate::imports;
use crate::stable::{read_hint, Storable};

/// A map in stable memory, sorted by the keys' byte encoding. Differs from
/// stable-structures' `StableBTreeMap`: `insert` and `remove` return nothing, so that pure
/// updates, which cannot read, can use them; `len` walks the keys.
///
/// When parallel calls write the same key, the call accepted last wins (`docs/modes.md`).
///
/// ```
/// use commute_cdk::stable::Map;
/// use commute_cdk::Principal;
///
/// static LAST_EVENT: Map<Principal, String> = Map::init("last_event");
///
/// let ann = Principal::from_slice(&[1]);
/// LAST_EVENT.insert(ann, "signed in".to_string());
/// LAST_EVENT.insert(ann, "signed out".to_string());
/// assert_eq!(LAST_EVENT.get(&ann).as_deref(), Some("signed out"));
/// ```
pub struct Map<K, V> {
    name: &'static str,
    types: PhantomData<fn() -> (K, V)>,
}

/// Shows the name: a handle holds nothing else.
impl<K, V> std::fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Map").field(&self.name).finish()
    }
}

/// Handles are names: copying one is free, and both copies name the same structure.
impl<K, V> Clone for Map<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Map<K, V> {}

impl<K: Storable, V: Storable> Map<K, V> {
    /// The map `name`. Costs nothing: the handle is only the name (stable-structures'
    /// `init`, "load, or create if empty", which is what a name means here).
    ///
    /// ```
    /// static USERS: commute_cdk::stable::Map<u64, String> = commute_cdk::stable::Map::init("users");
    /// assert!(USERS.is_empty());
    /// ```
    pub const fn init(name: &'static str) -> Self {
        Map {
            name,
            types: PhantomData,
        }
    }

    /// The map's name.
    ///
    /// ```
    /// assert_eq!(commute_cdk::stable::Map::<u8, u8>::init("m").name(), "m");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Sets `key` to `value`. Differs from stable-structures: returns nothing (use
    /// [`get`](Self::get) first, outside pure updates, to see the old value). Not allowed
    /// in queries.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<u64, String>::init("m");
    /// m.insert(1, "one".into());
    /// assert_eq!(m.get(&1).as_deref(), Some("one"));
    /// ```
    pub fn insert(&self, key: K, value: V) {
        imports::map_put(self.name.as_bytes(), &key.to_bytes(), &value.to_bytes())
    }

    /// Removes `key`, if present. Differs from stable-structures: returns nothing. Not
    /// allowed in queries.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<u64, u64>::init("m");
    /// m.insert(1, 10);
    /// m.remove(&1);
    /// assert_eq!(m.get(&1), None);
    /// ```
    pub fn remove(&self, key: &K) {
        imports::map_remove(self.name.as_bytes(), &key.to_bytes())
    }

    /// The value of `key`, if any. Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<String, u64>::init("m");
    /// assert_eq!(m.get(&"x".to_string()), None);
    /// ```
    pub fn get(&self, key: &K) -> Option<V> {
        let bytes = imports::map_get(self.name.as_bytes(), &key.to_bytes(), read_hint::<V>())?;
        Some(V::from_bytes(Cow::Owned(bytes)))
    }

    /// Whether `key` has a value. Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<u8, ()>::init("set");
    /// m.insert(3, ());
    /// assert!(m.contains_key(&3));
    /// assert!(!m.contains_key(&4));
    /// ```
    pub fn contains_key(&self, key: &K) -> bool {
        imports::map_contains(self.name.as_bytes(), &key.to_bytes())
    }

    /// Whether the map has no keys. Costs one host call. Not allowed in pure updates.
    ///
    /// ```
    /// assert!(commute_cdk::stable::Map::<u8, u8>::init("empty").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        imports::map_next_key(self.name.as_bytes(), None, read_hint::<K>()).is_none()
    }

    /// The number of keys. Differs from stable-structures: O(n), it walks the keys (the
    /// host keeps no count). Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<u8, u8>::init("m");
    /// m.insert(1, 1);
    /// m.insert(2, 2);
    /// assert_eq!(m.len(), 2);
    /// ```
    pub fn len(&self) -> u64 {
        self.keys().count() as u64
    }

    /// The entries in key byte order. Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<u64, String>::init("m");
    /// m.insert(20, "b".into());
    /// m.insert(3, "a".into());
    /// assert_eq!(m.iter().collect::<Vec<_>>(), [(3, "a".into()), (20, "b".into())]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.range(..)
    }

    /// The entries whose keys lie in `range`, in key byte order (for the integer, string
    /// and principal keys of this SDK, that is value order). Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<u64, u64>::init("squares");
    /// for i in 0..10 {
    ///     m.insert(i, i * i);
    /// }
    /// let some: Vec<u64> = m.range(3..6).map(|(_, v)| v).collect();
    /// assert_eq!(some, [9, 16, 25]);
    /// ```
    pub fn range(&self, range: impl RangeBounds<K>) -> Iter<'_, K, V> {
        Iter {
            cursor: Cursor::new(self.name, &range),
            types: PhantomData,
        }
    }

    /// The keys in byte order. Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<String, u8>::init("m");
    /// m.insert("b".into(), 2);
    /// m.insert("a".into(), 1);
    /// assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn keys(&self) -> Keys<'_, K> {
        Keys {
            cursor: Cursor::new::<K>(self.name, &(..)),
            types: PhantomData,
        }
    }

    /// The values in key byte order. Not allowed in pure updates.
    ///
    /// ```
    /// let m = commute_cdk::stable::Map::<String, u8>::init("m");
    /// m.insert("b".into(), 2);
    /// m.insert("a".into(), 1);
    /// assert_eq!(m.values().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn values(&self) -> Values<'_, K, V> {
        Values { iter: self.iter() }
    }
}

/// What an iterator borrows (the map, by lifetime only) and yields.
type Borrows<'a, T> = PhantomData<(&'a (), fn() -> T)>;

/// Where a key walk stands.
#[derive(Debug)]
enum Position {
    /// Before the first key, which is the first key within this start bound.
    Start(Bound<Vec<u8>>),
    /// After this key.
    After(Vec<u8>),
    /// Past the end.
    Done,
}

/// A walk over a map's keys, as bytes, within a range.
#[derive(Debug)]
struct Cursor {
    name: &'static str,
    position: Position,
    end: Bound<Vec<u8>>,
    hint: usize,
}

impl Cursor {
    fn new<K: Storable>(name: &'static str, range: &impl RangeBounds<K>) -> Cursor {
        let bytes = |bound: Bound<&K>| bound.map(|k| k.to_bytes().into_owned());
        Cursor {
            name,
            position: Position::Start(bytes(range.start_bound())),
            end: bytes(range.end_bound()),
            hint: read_hint::<K>(),
        }
    }

    /// The next key's bytes, if any within the range.
    fn next_key(&mut self) -> Option<Vec<u8>> {
        let name = self.name.as_bytes();
        let key = match &self.position {
            Position::Done => None,
            Position::Start(Bound::Unbounded) => imports::map_next_key(name, None, self.hint),
            Position::Start(Bound::Excluded(start)) | Position::After(start) => {
                imports::map_next_key(name, Some(start), self.hint)
            }
            Position::Start(Bound::Included(start)) if imports::map_contains(name, start) => {
                Some(start.clone())
            }
            Position::Start(Bound::Included(start)) => {
                imports::map_next_key(name, Some(start), self.hint)
            }
        };
        let in_range = |key: &Vec<u8>| match &self.end {
            Bound::Unbounded => true,
            Bound::Included(end) => key <= end,
            Bound::Excluded(end) => key < end,
        };
        match key {
            Some(key) if in_range(&key) => {
                self.position = Position::After(key.clone());
                Some(key)
            }
            _ => {
                self.position = Position::Done;
                None
            }
        }
    }
}

/// The entries of a [`Map`] in key byte order, from [`Map::iter`] or [`Map::range`]. Each
/// step costs two host calls (next key, its value); entries written during the walk are
/// seen if they lie ahead of it.
///
/// ```
/// let m = commute_cdk::stable::Map::<u8, u8>::init("m");
/// m.insert(1, 10);
/// let mut it: commute_cdk::stable::map::Iter<'_, u8, u8> = m.iter();
/// assert_eq!(it.next(), Some((1, 10)));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug)]
pub struct Iter<'a, K, V> {
    cursor: Cursor,
    types: Borrows<'a, (K, V)>,
}

impl<K: Storable, V: Storable> Iterator for Iter<'_, K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            let key = self.cursor.next_key()?;
            // A key removed between the two host calls is skipped.
            if let Some(value) =
                imports::map_get(self.cursor.name.as_bytes(), &key, read_hint::<V>())
            {
                return Some((
                    K::from_bytes(Cow::Owned(key)),
                    V::from_bytes(Cow::Owned(value)),
                ));
            }
        }
    }
}

/// The keys of a [`Map`] in byte order, from [`Map::keys`]: one host call per key.
///
/// ```
/// let m = commute_cdk::stable::Map::<u8, u8>::init("m");
/// m.insert(2, 0);
/// let keys: commute_cdk::stable::map::Keys<'_, u8> = m.keys();
/// assert_eq!(keys.collect::<Vec<_>>(), [2]);
/// ```
#[derive(Debug)]
pub struct Keys<'a, K> {
    cursor: Cursor,
    types: Borrows<'a, K>,
}

impl<K: Storable> Iterator for Keys<'_, K> {
    type Item = K;

    fn next(&mut self) -> Option<K> {
        self.cursor
            .next_key()
            .map(|key| K::from_bytes(Cow::Owned(key)))
    }
}

/// The values of a [`Map`] in key byte order, from [`Map::values`].
///
/// ```
/// let m = commute_cdk::stable::Map::<u8, u8>::init("m");
/// m.insert(2, 7);
/// let values: commute_cdk::stable::map::Values<'_, u8, u8> = m.values();
/// assert_eq!(values.collect::<Vec<_>>(), [7]);
/// ```
#[derive(Debug)]
pub struct Values<'a, K, V> {
    iter: Iter<'a, K, V>,
}

impl<K: Storable, V: Storable> Iterator for Values<'_, K, V> {
    type Item = V;

    fn next(&mut self) -> Option<V> {
        self.iter.next().map(|(_, v)| v)
    }
}
