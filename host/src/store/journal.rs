//! The journal: a commit made durable as one run of sled records, then applied.
//!
//! sled 0.34's `apply_batch` takes a process-wide write lock and inserts key by key, and
//! once any such lock has been taken every later insert pays a shared one: a round's
//! commit would be serial in its writes. Instead a commit is written as records of a few
//! KiB under `mj ‖ id ‖ part` (one insert each, whole or missing after a crash: J5), flushed,
//! and only then applied:
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
//!   writes is in the tree, and none is in the resident state where a reader can see it:
//!   its state writes may land there while the flush is under way, but only with every
//!   reader excluded until the flush has ended, and taken back out if it failed
//!   (`Store::settle_with`). A crash loses the whole commit or nothing of it.
//! - (J3) A journal is removed only once a durable checkpoint holds its writes
//!   (`store/checkpoint.rs`, K2). Until then it stays, and is replayed at open.
//! - (J4) Ids strictly increase with commit order, so replay in key order is commit order.
//! - (J5) A journal is whole only with every one of its parts, which are written in order
//!   and flushed together. A crash before that flush can leave some of them; such a
//!   journal was never reported, and is the last one (the next is written only once this
//!   one is flushed and applied), so at open it is dropped and its round runs again.
//!
//! A journal is cut between writes into parts of at most [`PART_BYTES`], so small that no
//! node of sled's tree of them goes over sled's blob threshold: it lives in sled's log and
//! is synced with it, instead of in a file of its own that needs an fsync of its own and of
//! its directory (`disk.rs`).
//!
//! At open, every journal the checkpoint does not hold is applied in id order (J1 makes
//! that correct whatever part of each was already applied), before anything reads.
//!
//! # Byte layout
//!
//! ```text
//! key:   'm' 'j' ‖ id u64 BE ‖ part u32 BE ‖ parts u32 BE   (a journal written whole, before
//!        parts existed: 'm' 'j' ‖ id u64 BE, part 0 of 1)
//! value: ff ff ff ff 01 ‖ repeated { shared ‖ |suffix| ‖ suffix ‖ tag (0 remove, 1 insert)
//!        ‖ [|value| ‖ value] }
//!        (lengths as LEB128; a write's key is the first `shared` bytes of the key before
//!        it in the part, then `suffix`)
//! or, as journals were written before, and as checkpoint chunks still are:
//! value: repeated { u32 LE |key| ‖ key ‖ tag (0 remove, 1 insert) ‖ [u32 LE |value| ‖ value] }
//! ```
//!
//! A round's writes come in key order, grouped by canister and structure, so a key shares
//! most of its bytes with the one before it: written whole, the keys were over half of a
//! journal's bytes, and a journal's bytes are what sled copies and the flush waits for.
//! The first four bytes tell the layouts apart: no key is 2^32 − 1 bytes long.

use super::faults::Faults;
use super::{hex, StoreError};

/// One write of a journal: a key and its new value, `None` to remove it.
pub(crate) type Write = (Vec<u8>, Option<sled::IVec>);

/// The key prefix of the journals.
pub(crate) const PREFIX: &[u8] = b"mj";

/// The most bytes of one part of a journal. sled writes a tree node as a blob file once
/// the node is over a quarter of its 512 KiB segment, and a leaf splits once it holds more
/// than 16 records, rewritten whole at every tenth change: 17 parts of 6 KiB stay under
/// that. Parts of 96 KiB, each alone under it, made a blob of every node holding two, and
/// most rounds wrote one, with two more fsyncs in their flush. A single write larger than
/// this is a part alone.
pub(crate) const PART_BYTES: usize = 6 << 10;

/// The tree key of part `part` of the `parts` of journal `id`.
pub(crate) fn key(id: u64, part: u32, parts: u32) -> Vec<u8> {
    [
        PREFIX,
        &id.to_be_bytes()[..],
        &part.to_be_bytes()[..],
        &parts.to_be_bytes()[..],
    ]
    .concat()
}

/// The id a journal key names, with which part of how many it is, if it is one.
pub(crate) fn parse_key(key: &[u8]) -> Option<(u64, u32, u32)> {
    let tail = key.strip_prefix(PREFIX)?;
    let id = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
    match tail.len() {
        8 => Some((id, 0, 1)),
        16 => {
            let part = u32::from_be_bytes(tail[8..12].try_into().ok()?);
            let parts = u32::from_be_bytes(tail[12..].try_into().ok()?);
            (part < parts).then_some((id, part, parts))
        }
        _ => None,
    }
}

/// The id a journal key names, if it is one.
pub(crate) fn id_of(key: &[u8]) -> Option<u64> {
    parse_key(key).map(|(id, _, _)| id)
}

/// What begins a part in the prefixed layout: a key length no key has, then its version.
const PREFIXED: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 1];

/// The records of a journal of `writes`, in the prefixed layout, cut between writes into
/// parts of at most `max` bytes unless one write alone is more (at least one part, even
/// for no writes). Each part is read on its own: its first key is whole.
pub(crate) fn encode_parts(writes: &[Write], max: usize) -> Vec<Vec<u8>> {
    let mut parts = vec![PREFIXED.to_vec()];
    let mut previous: &[u8] = &[];
    for (key, value) in writes {
        let value = value.as_deref();
        let last = parts.last_mut().expect("at least one part");
        let start = last.len();
        push_prefixed(last, shared_len(previous, key), key, value);
        // Over the most after other writes: it starts a part of its own, its key whole.
        if last.len() > max && start > PREFIXED.len() {
            last.truncate(start);
            let mut part = PREFIXED.to_vec();
            push_prefixed(&mut part, 0, key, value);
            parts.push(part);
        }
        previous = key;
    }
    parts
}

/// How many leading bytes `a` and `b` share.
fn shared_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Appends one write to `out` in the prefixed layout, its key sharing `shared` bytes with
/// the key before it in the part.
fn push_prefixed(out: &mut Vec<u8>, shared: usize, key: &[u8], value: Option<&[u8]>) {
    push_varint(out, shared);
    push_varint(out, key.len() - shared);
    out.extend_from_slice(&key[shared..]);
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            push_varint(out, value.len());
            out.extend_from_slice(value);
        }
    }
}

/// `n` as LEB128.
fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends one write to `out` with its whole key: the layout of checkpoint chunks, and of
/// journals written before the prefixed one.
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

/// The writes of journal part or checkpoint chunk `bytes` (stored under `at`), in either
/// layout.
pub(crate) fn decode(at: &[u8], bytes: &[u8]) -> Result<Vec<Write>, StoreError> {
    let bad = |what: &str| StoreError::Corrupt {
        key: hex(at),
        what: format!("journal {what}"),
    };
    let take = |n: usize, rest: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
        let (head, tail) = rest
            .split_at_checked(n)
            .ok_or_else(|| bad("ends inside a write"))?;
        *rest = tail;
        Ok(head.to_vec())
    };
    let (prefixed, mut rest) = match bytes.strip_prefix(&PREFIXED[..]) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    // A length: LEB128 in the prefixed layout, u32 LE in the whole-key one.
    let length = |rest: &mut &[u8]| -> Result<usize, StoreError> {
        if prefixed {
            read_varint(rest).ok_or_else(|| bad("has a bad length"))
        } else {
            let le: [u8; 4] = take(4, rest)?.try_into().expect("4 bytes");
            Ok(u32::from_le_bytes(le) as usize)
        }
    };
    let mut writes: Vec<Write> = Vec::new();
    while !rest.is_empty() {
        let key = if prefixed {
            let shared = length(&mut rest)?;
            let suffix = length(&mut rest)?;
            let previous = writes.last().map_or(&[][..], |(key, _)| key.as_slice());
            let mut key = previous
                .get(..shared)
                .ok_or_else(|| bad("shares more of a key than the key before it has"))?
                .to_vec();
            key.extend(take(suffix, &mut rest)?);
            key
        } else {
            let len = length(&mut rest)?;
            take(len, &mut rest)?
        };
        let value = match take(1, &mut rest)?[0] {
            0 => None,
            1 => {
                let len = length(&mut rest)?;
                Some(sled::IVec::from(take(len, &mut rest)?))
            }
            _ => return Err(bad("has a write tag that is neither 0 nor 1")),
        };
        writes.push((key, value));
    }
    Ok(writes)
}

/// A LEB128 length from the front of `rest`, if it is one that fits a `u32` (no sled key
/// or value is longer).
fn read_varint(rest: &mut &[u8]) -> Option<usize> {
    let mut n: u64 = 0;
    for (i, byte) in rest.iter().enumerate().take(5) {
        n |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *rest = &rest[i + 1..];
            return u32::try_from(n).ok().map(|n| n as usize);
        }
    }
    None
}

/// The journals left in `tree`.
#[derive(Debug, Default)]
pub(crate) struct Left {
    /// The whole ones, in id order (J4): their ids, sizes in bytes and writes.
    pub(crate) whole: Vec<(u64, usize, Vec<Write>)>,
    /// The keys of the parts of a journal that lacks some (J5), to be removed.
    pub(crate) torn: Vec<sled::IVec>,
}

/// The parts of one journal as read: its id, how many parts it says it has, and the
/// records seen, in key order.
type Reading = (u64, u32, Vec<(sled::IVec, sled::IVec)>);

/// The journals left in `tree` (J4, J5).
///
/// # Errors
///
/// [`StoreError::Corrupt`] if a key under the prefix is not a journal's, a record does not
/// decode, or a journal that lacks parts is followed by another.
pub(crate) fn left(tree: &sled::Tree) -> Result<Left, StoreError> {
    let mut left = Left::default();
    let mut reading: Option<Reading> = None;
    let end = |reading: Option<Reading>, left: &mut Left| -> Result<(), StoreError> {
        let Some((id, parts, seen)) = reading else {
            return Ok(());
        };
        if let Some(key) = left.torn.first() {
            return Err(StoreError::Corrupt {
                key: hex(key),
                what: format!("journal lacks parts but journal {id} follows it"),
            });
        }
        // Keys sort by id, then part: whole means parts 0, 1, … of one count, none missing.
        let whole = seen.len() == parts as usize
            && (seen.iter().enumerate())
                .all(|(i, (key, _))| parse_key(key) == Some((id, i as u32, parts)));
        if !whole {
            left.torn = seen.into_iter().map(|(key, _)| key).collect();
            return Ok(());
        }
        let (mut bytes, mut writes) = (0, Vec::new());
        for (key, value) in &seen {
            bytes += value.len();
            writes.extend(decode(key, value)?);
        }
        left.whole.push((id, bytes, writes));
        Ok(())
    };
    for item in tree.scan_prefix(PREFIX) {
        let (key, value) = item?;
        let (id, _, parts) = parse_key(&key).ok_or_else(|| StoreError::Corrupt {
            key: hex(&key),
            what: "is under the journal prefix but is not a journal key".into(),
        })?;
        match &mut reading {
            Some((at, _, seen)) if *at == id => seen.push((key, value)),
            _ => {
                end(reading.take(), &mut left)?;
                reading = Some((id, parts, vec![(key, value)]));
            }
        }
    }
    end(reading, &mut left)?;
    Ok(left)
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

    use super::{apply, decode, encode_parts, key, left, push, Faults, Write, PREFIXED};
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

    /// Decoding a journal's parts in order gives its writes back; no part is over the
    /// most unless it is one write alone, or the layout's header alone (a journal of no
    /// writes, for a most under the header's 5 bytes); there is always a part.
    #[test]
    fn prop_parts_decode_to_the_writes_and_keep_under_the_most() {
        fn prop(writes: Writes, max: u8) -> bool {
            let max = usize::from(max);
            let parts = encode_parts(&writes.0, max);
            let one_write = |part: &Vec<u8>| {
                part[..] == PREFIXED[..] || decode(b"mj", part).map_or(0, |w| w.len()) == 1
            };
            let back: Vec<Write> = parts
                .iter()
                .flat_map(|p| decode(b"mj", p).unwrap())
                .collect();
            !parts.is_empty()
                && back == writes.0
                && parts
                    .iter()
                    .all(|part| part.len() <= max || one_write(part))
        }
        quickcheck().quickcheck(prop as fn(Writes, u8) -> bool);
        // The case a run of the law once drew (no writes, a most of 0 to 4 bytes).
        assert!(prop(Writes(Vec::new()), 0));
    }

    /// A round's writes share most of their keys with the write before them: the prefixed
    /// layout stores a logging round's journal in well under two thirds of the bytes the
    /// whole keys took.
    #[test]
    fn a_round_s_journal_stores_each_key_s_shared_prefix_once() {
        let writes: Vec<Write> = (0..1_000u64)
            .map(|i| {
                let user = blake3::hash(&i.to_le_bytes()).as_bytes()[..10].to_vec();
                let key = [&b"slogger\0cevents_per_user\0"[..], &user].concat();
                (
                    key,
                    Some(sled::IVec::from(&i128::from(i).to_le_bytes()[..])),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let whole: usize = writes
            .iter()
            .map(|(key, value)| {
                let mut bytes = Vec::new();
                push(&mut bytes, key, value.as_deref());
                bytes.len()
            })
            .sum();
        let parts = encode_parts(&writes, usize::MAX);
        let prefixed: usize = parts.iter().map(Vec::len).sum();
        assert!(prefixed * 3 < whole * 2, "{prefixed} bytes against {whole}");
        let back: Vec<Write> = parts
            .iter()
            .flat_map(|p| decode(b"mj", p).unwrap())
            .collect();
        assert_eq!(back, writes);
    }

    /// A journal written before the prefixed layout, and a checkpoint chunk, which keeps
    /// the whole keys, still decode to their writes.
    #[test]
    fn prop_the_whole_key_layout_still_decodes() {
        fn prop(writes: Writes) -> bool {
            let mut bytes = Vec::new();
            for (key, value) in &writes.0 {
                push(&mut bytes, key, value.as_deref());
            }
            decode(b"mj", &bytes).unwrap() == writes.0
        }
        quickcheck().quickcheck(prop as fn(Writes) -> bool);
    }

    /// Any bytes, in either layout, decode to writes or to an error naming the record:
    /// never a panic, and never a key longer than the bytes could hold.
    #[test]
    fn prop_any_bytes_decode_or_are_refused() {
        fn prop(body: Vec<u8>, prefixed: bool) -> bool {
            let bytes = if prefixed {
                [&PREFIXED[..], &body].concat()
            } else {
                body
            };
            match decode(b"mj", &bytes) {
                Ok(writes) => {
                    let longest = writes.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                    longest <= bytes.len()
                }
                Err(e) => e.to_string().contains("6d6a"),
            }
        }
        quickcheck().quickcheck(prop as fn(Vec<u8>, bool) -> bool);
    }

    /// J5: a journal that lacks a part (its last, a middle one, its first) is torn, and
    /// left out; whole ones before it are read whole; one after it is corruption.
    #[test]
    fn a_journal_that_lacks_a_part_is_torn_and_nothing_may_follow_it() {
        let writes: Vec<Write> = (0..6u8)
            .map(|i| (vec![b's', i], Some(sled::IVec::from(vec![i; 40]))))
            .collect();
        let parts = encode_parts(&writes, 110);
        assert_eq!(parts.len(), 3);
        for missing in 0..3u32 {
            let t = tree();
            for (i, part) in (0..).zip(&parts) {
                t.insert(key(1, i, 3), &part[..]).unwrap();
                if i != missing {
                    t.insert(key(2, i, 3), &part[..]).unwrap();
                }
            }
            let found = left(&t).unwrap();
            assert_eq!(found.whole.len(), 1);
            assert_eq!((found.whole[0].0, &found.whole[0].2), (1, &writes));
            assert_eq!(found.torn.len(), 2, "missing part {missing}");
            t.insert(key(3, 0, 1), &parts[0][..]).unwrap();
            assert!(left(&t).is_err(), "a journal follows a torn one");
        }
        // A journal written whole, before parts existed, is part 0 of 1.
        let t = tree();
        t.insert([&b"mj"[..], &7u64.to_be_bytes()].concat(), &parts[0][..])
            .unwrap();
        let found = left(&t).unwrap();
        assert_eq!(
            (found.whole.len(), found.torn.len(), found.whole[0].0),
            (1, 0, 7)
        );
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
