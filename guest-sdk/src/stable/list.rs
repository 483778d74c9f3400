//! [`List`]: an append-only list in stable memory, and its iterator [`Iter`].

use std::borrow::Cow;
use std::marker::PhantomData;

use crate::imports;
use crate::stable::{read_hint, Storable};

/// An append-only list in stable memory. Differs from stable-structures' `StableVec`:
/// `push` returns nothing, and there is no `set` or `pop`, because pushes of parallel
/// pure updates must commute.
///
/// The pushes of one round are ordered by (call seq, position in the call): the order a
/// serial run would give.
///
/// ```
/// use commute_cdk::stable::List;
///
/// static EVENTS: List<String> = List::init("events");
///
/// EVENTS.push(&"signed in".to_string());
/// EVENTS.push(&"signed out".to_string());
/// assert_eq!(EVENTS.len(), 2);
/// assert_eq!(EVENTS.get(1).as_deref(), Some("signed out"));
/// ```
pub struct List<V> {
    name: &'static str,
    types: PhantomData<fn() -> V>,
}

/// Shows the name: a handle holds nothing else.
impl<V> std::fmt::Debug for List<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("List").field(&self.name).finish()
    }
}

/// Handles are names: copying one is free, and both copies name the same structure.
impl<V> Clone for List<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for List<V> {}

impl<V: Storable> List<V> {
    /// The list `name`. Costs nothing: the handle is only the name.
    ///
    /// ```
    /// static LOG: commute_cdk::stable::List<Vec<u8>> = commute_cdk::stable::List::init("log");
    /// assert!(LOG.is_empty());
    /// ```
    pub const fn init(name: &'static str) -> Self {
        List {
            name,
            types: PhantomData,
        }
    }

    /// The list's name.
    ///
    /// ```
    /// assert_eq!(commute_cdk::stable::List::<u8>::init("l").name(), "l");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Appends `value`. Differs from stable-structures: returns nothing (there is no size
    /// limit to fail on; the host caps a call's writes). Not allowed in queries.
    ///
    /// ```
    /// let l = commute_cdk::stable::List::<u64>::init("l");
    /// l.push(&5);
    /// assert_eq!(l.get(0), Some(5));
    /// ```
    pub fn push(&self, value: &V) {
        imports::list_push(self.name.as_bytes(), &value.to_bytes())
    }

    /// The number of values. Not allowed in pure updates.
    ///
    /// ```
    /// assert_eq!(commute_cdk::stable::List::<u64>::init("l").len(), 0);
    /// ```
    pub fn len(&self) -> u64 {
        imports::list_len(self.name.as_bytes())
    }

    /// Whether the list has no values. Not allowed in pure updates.
    ///
    /// ```
    /// assert!(commute_cdk::stable::List::<u64>::init("l").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `index`, if `index < len()`. Not allowed in pure updates.
    ///
    /// ```
    /// let l = commute_cdk::stable::List::<String>::init("l");
    /// l.push(&"a".to_string());
    /// assert_eq!(l.get(0).as_deref(), Some("a"));
    /// assert_eq!(l.get(1), None);
    /// ```
    pub fn get(&self, index: u64) -> Option<V> {
        let bytes = imports::list_get(self.name.as_bytes(), index, read_hint::<V>())?;
        Some(V::from_bytes(Cow::Owned(bytes)))
    }

    /// The values in order, up to the length when the iteration starts. Not allowed in
    /// pure updates.
    ///
    /// ```
    /// let l = commute_cdk::stable::List::<u8>::init("l");
    /// l.push(&1);
    /// l.push(&2);
    /// assert_eq!(l.iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(l.iter().skip(1).collect::<Vec<_>>(), [2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            list: self,
            next: 0,
            end: self.len(),
        }
    }
}

/// The values of a [`List`] in order, from [`List::iter`]: one host call per value;
/// `skip` and `nth` jump without reading what they pass.
///
/// ```
/// let l = commute_cdk::stable::List::<u8>::init("l");
/// l.push(&9);
/// let mut it: commute_cdk::stable::list::Iter<'_, u8> = l.iter();
/// assert_eq!(it.len(), 1);
/// assert_eq!(it.next(), Some(9));
/// ```
pub struct Iter<'a, V> {
    list: &'a List<V>,
    next: u64,
    end: u64,
}

impl<V: Storable> Iterator for Iter<'_, V> {
    type Item = V;

    fn next(&mut self) -> Option<V> {
        while self.next < self.end {
            let index = self.next;
            self.next += 1;
            if let Some(value) = self.list.get(index) {
                return Some(value);
            }
        }
        None
    }

    fn nth(&mut self, n: usize) -> Option<V> {
        self.next = self.next.saturating_add(n as u64).min(self.end);
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl<V: Storable> ExactSizeIterator for Iter<'_, V> {}
