//! Byte strings as a [`super::Delta`]'s trees hold them: ordered exactly as `[u8]` is, but
//! compared inline.
//!
//! A round folds every op into trees keyed by canister, structure name and entry key, all
//! a few bytes long. `[u8]`'s own order calls `memcmp` for each comparison, and for keys
//! this short the call cost more than the comparison: over half of folding a page-view
//! call went to it. [`Bytes`] compares eight bytes at a time, in line.
//!
//! # Invariants
//!
//! - (A) [`Bytes`], [`Owned`] and [`Text`] order and equal exactly as their bytes do as
//!   `[u8]` (law `prop_order_is_the_bytes_order`), so a tree's order, and everything a
//!   delta yields in it, is the one `[u8]` would give.

use std::borrow::Borrow;
use std::cmp::Ordering;

/// A borrowed byte string: what a tree of [`Owned`] or [`Text`] is searched with, made
/// from a slice at no cost.
#[derive(Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Bytes([u8]);

impl Bytes {
    /// `bytes`, as a [`Bytes`].
    pub(crate) fn new(bytes: &[u8]) -> &Bytes {
        // SAFETY: `Bytes` is `repr(transparent)` over `[u8]`, so the two references have
        // the same layout and metadata (as `std::path::Path` over `OsStr`).
        unsafe { &*(std::ptr::from_ref::<[u8]>(bytes) as *const Bytes) }
    }
}

impl Ord for Bytes {
    /// Lexicographic (A): the first eight-byte word that differs, read big-endian, decides;
    /// then the first differing byte of the tail; then the length.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        let n = a.len().min(b.len());
        let mut i = 0;
        while i + 8 <= n {
            let x = u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes"));
            let y = u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
            if x != y {
                return x.cmp(&y);
            }
            i += 8;
        }
        while i < n {
            if a[i] != b[i] {
                return a[i].cmp(&b[i]);
            }
            i += 1;
        }
        a.len().cmp(&b.len())
    }
}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An owned byte string: an entry key or a structure name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Owned(pub(crate) Vec<u8>);

impl Borrow<Bytes> for Owned {
    fn borrow(&self) -> &Bytes {
        Bytes::new(&self.0)
    }
}

impl Ord for Owned {
    fn cmp(&self, other: &Self) -> Ordering {
        Bytes::new(&self.0).cmp(Bytes::new(&other.0))
    }
}

impl PartialOrd for Owned {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An owned UTF-8 string, ordered by its bytes: a canister's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) String);

impl Borrow<Bytes> for Text {
    fn borrow(&self) -> &Bytes {
        Bytes::new(self.0.as_bytes())
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> Ordering {
        Bytes::new(self.0.as_bytes()).cmp(Bytes::new(other.0.as_bytes()))
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod laws {
    use super::{Bytes, Owned, Text};
    use quickcheck::{Arbitrary, Gen, QuickCheck};

    /// Two byte strings likely to share a prefix, of lengths around the eight-byte word.
    #[derive(Clone, Debug)]
    struct Pair(Vec<u8>, Vec<u8>);

    impl Arbitrary for Pair {
        fn arbitrary(g: &mut Gen) -> Pair {
            let len = |g: &mut Gen| usize::from(u8::arbitrary(g) % 20);
            let byte = |g: &mut Gen| *g.choose(&[0, 1, 0x7f, 0x80, 0xfe, 0xff]).expect("some");
            let a: Vec<u8> = (0..len(g)).map(|_| byte(g)).collect();
            let shared = usize::from(u8::arbitrary(g)) % (a.len() + 1);
            let mut b = a[..shared].to_vec();
            b.extend((0..len(g)).map(|_| byte(g)));
            Pair(a, b)
        }
    }

    /// (A): every comparison agrees with `[u8]`'s, borrowed or owned.
    #[test]
    fn prop_order_is_the_bytes_order() {
        fn prop(Pair(a, b): Pair) -> bool {
            let want = a.cmp(&b);
            let text = |v: &[u8]| Text(v.iter().map(|&x| char::from(x & 0x7f)).collect());
            let ascii = |v: &[u8]| v.iter().map(|x| x & 0x7f).collect::<Vec<u8>>();
            Bytes::new(&a).cmp(Bytes::new(&b)) == want
                && Owned(a.clone()).cmp(&Owned(b.clone())) == want
                && (Owned(a.clone()) == Owned(b.clone())) == (a == b)
                && text(&a).cmp(&text(&b)) == ascii(&a).cmp(&ascii(&b))
        }
        QuickCheck::new()
            .tests(2_000)
            .quickcheck(prop as fn(Pair) -> bool);
    }
}
