//! The journal: a commit made durable as ONE sled record, then applied.
//!
//! sled 0.34's `apply_batch` takes a process-wide write lock and inserts key by key, and
//! once any such lock has been taken every later insert pays a shared one: a round's
//! commit would be serial in its writes. Instead a commit is written as one value under
//! `mj ‖ id` (a single insert, which sled makes atomic), flushed, and only then applied:
//! its state writes to the resident state in memory (`store/resident.rs`), the few others
//! (queue, outcomes, meta) to the tree with plain inserts and removes.
//!
//! # Invariants
//!
//! - (J1) Every write of a journal is an absolute value (the new bytes of a key, or its
//!   removal), never a change relative to what is stored. So applying a journal twice,
//!   or applying journals `j..=n` in id order over a state that already holds some of
//!   their writes, leaves every key they touch as journal `n`, the last, left it.
//! - (J2) A journal is applied only once it is durable (flushed). Before that, none of its
//!   writes is in the tree or the resident state: a crash loses the whole commit or
//!   nothing of it.
//! - (J3) A journal is removed only once a durable checkpoint holds its writes
//!   (`store/checkpoint.rs`, K2). Until then it stays, and is replayed at open.
//! - (J4) Ids strictly increase with commit order, so replay in key order is commit order.
//!
//! At open, every journal the checkpoint does not hold is applied in id order (J1 makes
//! that correct whatever part of each was already applied), before anything reads.
//!
//! # Byte layout
//!
//! ```text
//! key:   'm' 'j' ‖ id u64 BE
//! value: repeated { u32 LE |key| ‖ key ‖ tag (0 remove, 1 insert) ‖ [u32 LE |value| ‖ value] }
//! ```

use super::faults::Faults;
use super::{hex, StoreError};

/// One write of a journal: a key and its new value, `None` to remove it.
pub(crate) type Write = (Vec<u8>, Option<sled::IVec>);

/// The key prefix of the journals.
pub(crate) const PREFIX: &[u8] = b"mj";

/// The tree key of journal `id`.
pub(crate) fn key(id: u64) -> Vec<u8> {
    [PREFIX, &id.to_be_bytes()[..]].concat()
}

/// The id a journal key names, if it is one.
pub(crate) fn id_of(key: &[u8]) -> Option<u64> {
    let tail = key.strip_prefix(PREFIX)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// The bytes of a journal of `writes`: a memcpy of each.
pub(crate) fn encode(writes: &[Write]) -> Vec<u8> {
    let size: usize = writes
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut out = Vec::with_capacity(size);
    for (key, value) in writes {
        push(&mut out, key, value.as_deref());
    }
    out
}

/// Appends one write to `out`, laid out as a journal's (a checkpoint's chunks share it).
pub(crate) fn push(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    out.extend_from_slice(&len32(key.len()).to_le_bytes());
    out.extend_from_slice(key);
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            out.extend_from_slice(&len32(value.len()).to_le_bytes());
            out.extend_from_slice(value);
        }
    }
}

fn len32(len: usize) -> u32 {
    // A sled value is at most u32::MAX bytes, so no key or value of a commit is longer.
    u32::try_from(len).expect("a sled key or value fits in u32")
}

/// The writes of journal `bytes` (stored under `at`), as [`encode`] laid them out.
pub(crate) fn decode(at: &[u8], bytes: &[u8]) -> Result<Vec<Write>, StoreError> {
    let bad = |what: &str| StoreError::Corrupt {
        key: hex(at),
        what: format!("journal {what}"),
    };
    let mut writes = Vec::new();
    let mut rest = bytes;
    let take = |n: usize, rest: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
        let (head, tail) = rest
            .split_at_checked(n)
            .ok_or_else(|| bad("ends inside a write"))?;
        *rest = tail;
        Ok(head.to_vec())
    };
    while !rest.is_empty() {
        let len = |b: Vec<u8>| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
        let key_len = len(take(4, &mut rest)?);
        let key = take(key_len, &mut rest)?;
        let value = match take(1, &mut rest)?[0] {
            0 => None,
            1 => {
                let value_len = len(take(4, &mut rest)?);
                Some(sled::IVec::from(take(value_len, &mut rest)?))
            }
            _ => return Err(bad("has a write tag that is neither 0 nor 1")),
        };
        writes.push((key, value));
    }
    Ok(writes)
}

/// The journals left in `tree`, in id order (J4): their ids, sizes in bytes and writes.
pub(crate) fn left(tree: &sled::Tree) -> Result<Vec<(u64, usize, Vec<Write>)>, StoreError> {
    let mut out = Vec::new();
    for item in tree.scan_prefix(PREFIX) {
        let (key, value) = item?;
        let id = id_of(&key).ok_or_else(|| StoreError::Corrupt {
            key: hex(&key),
            what: "is under the journal prefix but is not a journal key".into(),
        })?;
        out.push((id, value.len(), decode(&key, &value)?));
    }
    Ok(out)
}

/// Applies `writes` to `tree` with plain inserts and removes (J1), each first cleared by
/// `faults`: a journal replayed whole, as the laws below do.
#[cfg(test)]
pub(crate) fn apply(
    tree: &sled::Tree,
    faults: &Faults,
    writes: &[Write],
) -> Result<(), StoreError> {
    for (key, value) in writes {
        apply_one(tree, faults, key, value.as_ref())?;
    }
    Ok(())
}

/// Applies one write.
pub(crate) fn apply_one(
    tree: &sled::Tree,
    faults: &Faults,
    key: &[u8],
    value: Option<&sled::IVec>,
) -> Result<(), StoreError> {
    faults.check("a journal's write to the tree")?;
    match value {
        Some(value) => tree.insert(key, value.clone())?,
        None => tree.remove(key)?,
    };
    Ok(())
}

#[cfg(test)]
mod laws {
    //! J1 and the encoding as quickcheck properties.

    use super::{apply, decode, encode, Faults, Write};
    use crate::merge::laws::quickcheck;
    use quickcheck::{Arbitrary, Gen};

    /// Writes over a small key alphabet, so that journals overlap.
    #[derive(Clone, Debug)]
    struct Writes(Vec<Write>);

    impl Arbitrary for Writes {
        fn arbitrary(g: &mut Gen) -> Self {
            let n = usize::arbitrary(g) % 12;
            Writes(
                (0..n)
                    .map(|_| {
                        let key = vec![b's', u8::arbitrary(g) % 6];
                        let value =
                            bool::arbitrary(g).then(|| sled::IVec::from(Vec::<u8>::arbitrary(g)));
                        (key, value)
                    })
                    .collect(),
            )
        }
    }

    fn tree() -> sled::Tree {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree("t").unwrap()
    }

    fn contents(tree: &sled::Tree) -> Vec<(Vec<u8>, Vec<u8>)> {
        tree.iter()
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
            .collect()
    }

    #[test]
    fn prop_decode_inverts_encode() {
        fn prop(writes: Writes) -> bool {
            decode(b"mj", &encode(&writes.0)).unwrap() == writes.0
        }
        quickcheck().quickcheck(prop as fn(Writes) -> bool);
    }

    /// J1: a crash left journals `..from` applied, and any subset of journal `from`'s
    /// writes (a parallel apply lands them in any order); replaying journals `from..` in
    /// order gives the tree that applying each once gives.
    #[test]
    fn prop_replaying_applied_journals_changes_nothing() {
        fn prop(journals: Vec<Writes>, from: usize, landed: Vec<bool>) -> bool {
            let once = tree();
            for j in &journals {
                apply(&once, &Faults::default(), &j.0).unwrap();
            }
            let replayed = tree();
            let from = from % (journals.len() + 1);
            for j in &journals[..from] {
                apply(&replayed, &Faults::default(), &j.0).unwrap();
            }
            if let Some(j) = journals.get(from) {
                for (i, (key, value)) in j.0.iter().enumerate() {
                    if landed.get(i).copied().unwrap_or(false) {
                        super::apply_one(&replayed, &Faults::default(), key, value.as_ref())
                            .unwrap();
                    }
                }
            }
            for j in &journals[from..] {
                apply(&replayed, &Faults::default(), &j.0).unwrap();
            }
            contents(&once) == contents(&replayed)
        }
        quickcheck().quickcheck(prop as fn(Vec<Writes>, usize, Vec<bool>) -> bool);
    }
}
