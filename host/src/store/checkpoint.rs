//! Checkpoints: the resident state (`store/resident.rs`) written to sled whole, in large
//! chunks, so that the journals before it can go.
//!
//! Between checkpoints the state is durable as its last checkpoint plus the journals after
//! it. A checkpoint costs a memcpy of the state into chunks and one flush; it is taken once
//! the journals since the last one hold at least as many bytes as the state itself (and a
//! floor), so over any run it costs at most about one more memcpy of each byte a commit
//! journals, never a sled insert per key.
//!
//! # Invariants
//!
//! - (K1) Generation g's chunks are all written and flushed before the record names g; the
//!   record is one insert. A crash at any point leaves the old record, naming chunks that
//!   are all still there, or the new one, naming chunks that are all durable.
//! - (K2) The checkpoint named by the record holds the resident state after every journal
//!   with an id below its `next`, and only those. Such journals are removed only once the
//!   record is durable, and at open they are skipped, never replayed: a journal's writes
//!   are absolute (J1) but older than the checkpoint, so replaying one would set back a key
//!   a later journal wrote.
//! - (K3) Once a record names generation g, the chunks of every other generation and the
//!   per-key `s` records a store kept in its main tree before checkpoints existed are
//!   garbage: ignored at open, removed after the record is durable.
//!
//! The record and the chunks live in a tree of their own (`Trees` in store.rs): sled
//! rewrites a leaf whole as its records change, and a leaf of chunks beside the
//! journals or the round record would be copied with every round.
//!
//! # Byte layout
//!
//! ```text
//! 'm' 'z'                                  gen u64 BE ‖ chunks u32 BE ‖ next journal u64 BE
//! 'm' 'c' ‖ gen u64 BE ‖ chunk u32 BE      the whole-key journal layout (store/journal.rs), inserts only
//! ```

use super::faults::Faults;
use super::resident::Resident;
use super::{hex, journal, StoreError, Trees};
use crate::store::area;

/// The key of the record naming the current checkpoint.
pub(crate) const RECORD: &[u8] = b"mz";

/// The key prefix of the chunks.
const CHUNKS: &[u8] = b"mc";

/// About how many bytes a chunk holds: under the size past which sled writes a value as a
/// file of its own (a quarter of its 512 KiB segment), with room for the record that
/// crosses the line. sled splits a leaf past 16 entries and rewrites it whole as it
/// fills; of 4 MiB chunks, every leaf was a 64 MiB file written again and again. With
/// 600,000 logging calls' writes (`cargo run --release -p commute --example checkpoint --
/// 600000`), a checkpoint took 0.88–1.16 s with 4 MiB chunks and 0.39–0.57 s with these, a
/// reopen 1.63 s and 1.22 s, and the data dir held 1,075 MB and 458 MB.
const CHUNK_BYTES: usize = 96 << 10;

/// The fewest journal bytes since the last checkpoint that call for the next, by default:
/// below it, a small state would be rewritten after every few rounds.
pub const MIN_BYTES: usize = 64 << 20;

/// The current checkpoint: its generation, and the first journal id it does not hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Named {
    pub(crate) generation: u64,
    chunks: u32,
    pub(crate) next_journal: u64,
}

fn chunk_key(generation: u64, chunk: u32) -> Vec<u8> {
    [
        CHUNKS,
        &generation.to_be_bytes()[..],
        &chunk.to_be_bytes()[..],
    ]
    .concat()
}

/// The record of the store in `trees`, if it ever took a checkpoint.
pub(crate) fn named(trees: &Trees) -> Result<Option<Named>, StoreError> {
    let Some(bytes) = trees.checkpoint.get(RECORD)? else {
        return Ok(None);
    };
    let bad = || StoreError::Corrupt {
        key: hex(RECORD),
        what: "checkpoint record is not 20 bytes".into(),
    };
    let bytes: &[u8; 20] = bytes[..].try_into().map_err(|_| bad())?;
    let (generation, rest) = bytes.split_at(8);
    let (chunks, next) = rest.split_at(4);
    Ok(Some(Named {
        generation: u64::from_be_bytes(generation.try_into().map_err(|_| bad())?),
        chunks: u32::from_be_bytes(chunks.try_into().map_err(|_| bad())?),
        next_journal: u64::from_be_bytes(next.try_into().map_err(|_| bad())?),
    }))
}

/// The state checkpoint `named` holds (the store's state before the journals after it).
pub(crate) fn load(trees: &Trees, named: Named) -> Result<Resident, StoreError> {
    let tree = &trees.checkpoint;
    let mut resident = Resident::default();
    for chunk in 0..named.chunks {
        let key = chunk_key(named.generation, chunk);
        let bytes = tree.get(&key)?.ok_or_else(|| StoreError::Corrupt {
            key: hex(&key),
            what: format!(
                "checkpoint {} names {} chunks, and this one is missing",
                named.generation, named.chunks
            ),
        })?;
        resident.apply(&journal::decode(&key, &bytes)?);
    }
    Ok(resident)
}

/// Writes `resident` as the checkpoint after `last` (`None`: the store never took one),
/// holding every journal below `next_journal` (K2), and returns what it names. The garbage
/// it leaves (K3) is removed, not flushed: the caller's next flush makes that durable, and
/// an open ignores what is left.
pub(crate) fn write(
    trees: &Trees,
    faults: &Faults,
    resident: &Resident,
    last: Option<Named>,
    next_journal: u64,
) -> Result<Named, StoreError> {
    let tree = &trees.checkpoint;
    let generation = last.map_or(1, |n| n.generation + 1);
    let mut chunks = 0u32;
    let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8);
    let mut put = |chunk: &mut Vec<u8>| -> Result<(), StoreError> {
        faults.check("a checkpoint's chunk")?;
        tree.insert(chunk_key(generation, chunks), &chunk[..])?;
        chunks += 1;
        chunk.clear();
        Ok(())
    };
    for (key, value) in resident.iter() {
        journal::push(&mut chunk, key, Some(value));
        if chunk.len() >= CHUNK_BYTES {
            put(&mut chunk)?;
        }
    }
    if !chunk.is_empty() {
        put(&mut chunk)?;
    }
    // (K1): the chunks are durable (they are disk: disk D1) before the record names them.
    faults.check("the flush of a checkpoint's chunks")?;
    trees.flush()?;
    let named = Named {
        generation,
        chunks,
        next_journal,
    };
    let record = [
        &generation.to_be_bytes()[..],
        &chunks.to_be_bytes()[..],
        &next_journal.to_be_bytes()[..],
    ]
    .concat();
    faults.check("a checkpoint's record")?;
    tree.insert(RECORD, record)?;
    faults.check("the flush of a checkpoint's record")?;
    tree.flush()?;
    // (K3), (K2): garbage once the record is durable.
    collect(trees, faults, named)?;
    Ok(named)
}

/// Removes what checkpoint `named` makes garbage (K2, K3): other generations' chunks, the
/// journals it holds, and the per-key `s` records of the main tree.
pub(crate) fn collect(trees: &Trees, faults: &Faults, named: Named) -> Result<(), StoreError> {
    let current = chunk_key(named.generation, 0);
    let mut garbage: Vec<(&sled::Tree, sled::IVec)> = Vec::new();
    for key in trees.checkpoint.scan_prefix(CHUNKS).keys() {
        let key = key?;
        if !key.starts_with(&current[..current.len() - 4]) {
            garbage.push((&trees.checkpoint, key));
        }
    }
    for key in trees.journal.scan_prefix(journal::PREFIX).keys() {
        let key = key?;
        if journal::id_of(&key).is_some_and(|id| id < named.next_journal) {
            garbage.push((&trees.journal, key));
        }
    }
    for key in trees.main.scan_prefix([area::STATE]).keys() {
        garbage.push((&trees.main, key?));
    }
    for (tree, key) in garbage {
        faults.check("the removal of what a checkpoint replaced")?;
        tree.remove(key)?;
    }
    Ok(())
}
