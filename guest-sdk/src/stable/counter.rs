//! [`Counter`]: named `i128` sums, optionally one per entry key.

use std::borrow::Cow;

use crate::imports;
use crate::stable::Storable;

/// A counter in stable memory: a name, and an entry key (empty for a plain counter).
/// New in commute: stable-structures has no counter; a counter's `add` commutes, so any
/// number of pure updates can add to the same counter at once without conflicting.
///
/// Every entry starts at 0. Its value is the exact sum of every `add`, stored as an `i128`
/// that wraps at 2^127 (a sum of `i64` deltas needs 2^64 calls to get there).
///
/// ```
/// use commute_cdk::stable::Counter;
/// use commute_cdk::Principal;
///
/// static VIEWS: Counter = Counter::init("views");
///
/// VIEWS.add(2);
/// VIEWS.entry(&"home".to_string()).add(1);
/// assert_eq!(VIEWS.get(), 2);
/// assert_eq!(VIEWS.entry(&"home".to_string()).get(), 1);
/// assert_eq!(VIEWS.entry(&Principal::anonymous()).get(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Counter {
    name: &'static str,
    key: Cow<'static, [u8]>,
}

impl Counter {
    /// The plain counter `name` (its entry with the empty key). Costs nothing: the handle is
    /// only the name; the counter exists once something is added to it.
    ///
    /// ```
    /// static INSTALLS: commute_cdk::stable::Counter = commute_cdk::stable::Counter::init("installs");
    /// assert_eq!(INSTALLS.get(), 0);
    /// ```
    pub const fn init(name: &'static str) -> Counter {
        Counter {
            name,
            key: Cow::Borrowed(&[]),
        }
    }

    /// The entry `key` of this counter's name: one sum per key, e.g. per user.
    ///
    /// ```
    /// use commute_cdk::stable::Counter;
    ///
    /// let per_page = Counter::init("views");
    /// per_page.entry(&"a".to_string()).add(1);
    /// per_page.entry(&"b".to_string()).add(5);
    /// assert_eq!(per_page.entry(&"a".to_string()).get(), 1);
    /// ```
    pub fn entry<K: Storable + ?Sized>(&self, key: &K) -> Counter {
        Counter {
            name: self.name,
            key: Cow::Owned(key.to_bytes().into_owned()),
        }
    }

    /// The counter's name.
    ///
    /// ```
    /// assert_eq!(commute_cdk::stable::Counter::init("views").name(), "views");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The entry key's bytes (empty for a plain counter).
    ///
    /// ```
    /// let c = commute_cdk::stable::Counter::init("views").entry(&7u8);
    /// assert_eq!(c.key(), [7]);
    /// ```
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Adds `delta` (which may be negative). Allowed in every mode but queries; the
    /// additions of parallel pure updates sum exactly.
    ///
    /// ```
    /// let c = commute_cdk::stable::Counter::init("balance");
    /// c.add(10);
    /// c.add(-3);
    /// assert_eq!(c.get(), 7);
    /// ```
    pub fn add(&self, delta: i64) {
        imports::counter_add(self.name.as_bytes(), &self.key, delta)
    }

    /// The current value: 0 if never added to. Not allowed in pure updates.
    ///
    /// ```
    /// let c = commute_cdk::stable::Counter::init("c");
    /// assert_eq!(c.get(), 0);
    /// c.add(i64::MAX);
    /// c.add(i64::MAX);
    /// assert_eq!(c.get(), 2 * i64::MAX as i128);
    /// ```
    pub fn get(&self) -> i128 {
        imports::counter_get(self.name.as_bytes(), &self.key)
    }
}
