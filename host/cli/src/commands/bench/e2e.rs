//! `e2e_vs_store`: tiny logging calls end to end, against a raw sled batch of the same
//! writes.
//!
//! - Subject: a batch of `logger.log(user, event)` calls (256 users, drawn seeded; events
//!   of about 10 bytes) on a host with the machine's cores: `submit_batch` (checks, the
//!   durable queue, one flush) and `tick` (execution, merge, root, the atomic commit,
//!   one flush). Calls per second.
//! - Baseline: the state writes that such a batch commits, written to a fresh sled
//!   database (same default configuration as the host's) as one batch, and flushed. They
//!   are read once from a host's `dump` after one batch: per user a counter entry (16
//!   bytes) and the last event; per call a list element and its position record; the list
//!   length; plus the 2 KiB lattice and the last seq, which every round writes. Keys follow
//!   the store's layout
//!   (`store.rs`), list elements under fresh `(seq, index)` each repetition, as the host's
//!   are. Calls per second, for the same number of calls.
//!
//! The ratio is subject ÷ baseline calls per second (medians of interleaved repetitions).

use super::batch::{host_with, run_calls, Ticking};
use super::progress::Progress;
use super::rng::SplitMix64;
use super::timing::{interleave, median, ms, per_s, speedup};
use super::Sizes;
use anyhow::Context;
use candid::Principal;
use commute::Config;
use commute_examples::LOGGER;
use serde_json::{json, Value};
use std::time::Instant;

/// Users the calls log for.
const USERS: u64 = 256;
/// The seed of the users and events.
const SEED: u64 = 0x000e_2e10_66e4;

/// Measures `e2e_vs_store`; see the module doc.
///
/// # Errors
///
/// If a host or sled fails, or a call traps.
pub(crate) fn measure(sizes: Sizes, progress: &Progress) -> anyhow::Result<Value> {
    let calls = sizes.e2e_calls;
    progress.start("e2e_vs_store", 2 * (sizes.reps + 1) + 1);
    let users: Vec<Principal> = (0..USERS)
        .map(|u| Principal::from_slice(&blake3::hash(&u.to_le_bytes()).as_bytes()[..10]))
        .collect();
    let mut rng = SplitMix64::new(SEED);
    let mut next_event = 0u64;
    let mut draw = |rng: &mut SplitMix64| -> Vec<Vec<u8>> {
        (0..calls)
            .map(|_| {
                let user = users[rng.below(USERS) as usize];
                next_event += 1;
                let event = format!("event {next_event}");
                candid::encode_args((user, event)).expect("a principal and a text encode")
            })
            .collect()
    };

    // The writes of one batch, from a fresh host's dump.
    let writes = {
        let mut host = host_with(&LOGGER, Config::default())?;
        run_calls(
            &mut host,
            LOGGER.name,
            "log",
            &draw(&mut rng),
            Ticking::Pipelined,
        )?;
        Writes::from_dump(LOGGER.name, &host.dump(LOGGER.name)?)?
    };
    progress.step();

    let mut host = host_with(&LOGGER, Config::default())?;
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let db = sled::Config::new()
        .path(dir.path())
        .open()
        .context("cannot open the baseline sled database")?;
    let tree = db.open_tree("bench")?;
    let mut generation = 0u64;
    let mut split = (Vec::new(), Vec::new());
    let times = interleave(sizes.reps, 2, |turn| {
        let time = if turn.subject == 0 {
            let args = draw(&mut rng);
            let (submit, tick) =
                run_calls(&mut host, LOGGER.name, "log", &args, Ticking::Pipelined)?;
            if turn.rep.is_some() {
                split.0.push(submit);
                split.1.push(tick);
            }
            submit + tick
        } else {
            generation += 1;
            let pairs = writes.generation(generation);
            let started = Instant::now();
            let mut batch = sled::Batch::default();
            for (key, value) in pairs {
                batch.insert(key, value);
            }
            tree.apply_batch(batch)?;
            tree.flush()?;
            started.elapsed()
        };
        progress.step();
        Ok::<_, anyhow::Error>(time)
    })?;
    let (host_time, store_time) = (median(&times[0]), median(&times[1]));
    Ok(json!({
        "measure": "e2e_vs_store",
        "ratio": speedup(store_time, host_time),
        "calls": calls,
        "reps": sizes.reps,
        "threads": Config::default().threads,
        "host_calls_per_s": per_s(calls, host_time),
        "store_calls_per_s": per_s(calls, store_time),
        "host_median_ms": ms(host_time),
        "host_submit_ms": ms(median(&split.0)),
        "host_tick_ms": ms(median(&split.1)),
        "store_median_ms": ms(store_time),
        "store_writes": writes.len(),
    }))
}

/// The state writes one batch commits, keyed as the store lays them out.
#[derive(Debug, Default)]
struct Writes {
    /// Entries rewritten in place each batch: counters, maps, the list length, meta.
    fixed: Vec<(Vec<u8>, Vec<u8>)>,
    /// List elements: the element and position scope prefixes and the value; each batch
    /// adds new ones, with their position records.
    list: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

impl Writes {
    /// The writes behind `dump` (`Host::dump`'s JSON) of canister `canister`.
    fn from_dump(canister: &str, dump: &Value) -> anyhow::Result<Writes> {
        let bad = || anyhow::anyhow!("unexpected dump layout: {dump}");
        let hex = |v: &Value| -> anyhow::Result<Vec<u8>> {
            hex::decode(v.as_str().ok_or_else(bad)?).map_err(|_| bad())
        };
        let mut writes = Writes::default();
        for (name, entries) in dump["counters"].as_object().ok_or_else(bad)? {
            let name = hex::decode(name).map_err(|_| bad())?;
            for (key, value) in entries.as_object().ok_or_else(bad)? {
                let key = hex::decode(key).map_err(|_| bad())?;
                let value: i128 = value.as_str().ok_or_else(bad)?.parse()?;
                let at = scoped(canister, b'c', &name, &key);
                writes.fixed.push((at, value.to_le_bytes().to_vec()));
            }
        }
        for (name, entries) in dump["maps"].as_object().ok_or_else(bad)? {
            let name = hex::decode(name).map_err(|_| bad())?;
            for (key, value) in entries.as_object().ok_or_else(bad)? {
                let key = hex::decode(key).map_err(|_| bad())?;
                writes
                    .fixed
                    .push((scoped(canister, b'm', &name, &key), hex(value)?));
            }
        }
        for (name, values) in dump["lists"].as_object().ok_or_else(bad)? {
            let name = hex::decode(name).map_err(|_| bad())?;
            let values = values.as_array().ok_or_else(bad)?;
            let len = (values.len() as u64).to_be_bytes().to_vec();
            writes.fixed.push((scoped(canister, b'n', &name, b""), len));
            for value in values {
                writes.list.push((
                    scoped(canister, b'l', &name, b""),
                    scoped(canister, b'p', &name, b""),
                    hex(value)?,
                ));
            }
        }
        // Every round rewrites the lattice (1024 u16 lanes) and the last seq.
        let mut lattice = vec![0; 2048];
        blake3::Hasher::new()
            .update(b"lattice")
            .finalize_xof()
            .fill(&mut lattice);
        writes.fixed.push((b"mlattice".to_vec(), lattice));
        writes
            .fixed
            .push((b"mlast_seq".to_vec(), 7u64.to_be_bytes().to_vec()));
        Ok(writes)
    }

    /// How many writes a batch makes.
    fn len(&self) -> usize {
        self.fixed.len() + 2 * self.list.len()
    }

    /// The writes of batch number `generation`: list elements under fresh `(seq, index)`
    /// keys and their position records, the rest in place.
    fn generation(&self, generation: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let first = generation * self.list.len() as u64;
        let list = self
            .list
            .iter()
            .zip(first..)
            .flat_map(|((element, position, value), seq)| {
                let mut at = seq.to_be_bytes().to_vec();
                at.extend_from_slice(&0u32.to_be_bytes());
                let mut key = element.clone();
                key.extend_from_slice(&at);
                let mut pos = position.clone();
                pos.extend_from_slice(&seq.to_be_bytes());
                [(key, value.clone()), (pos, at)]
            });
        self.fixed.iter().cloned().chain(list).collect()
    }
}

/// `'s' ‖ u32 BE |c| ‖ c ‖ kind ‖ u32 BE |n| ‖ n ‖ rest`: the store's key layout.
fn scoped(canister: &str, kind: u8, name: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut key = vec![b's'];
    key.extend_from_slice(&(canister.len() as u32).to_be_bytes());
    key.extend_from_slice(canister.as_bytes());
    key.push(kind);
    key.extend_from_slice(&(name.len() as u32).to_be_bytes());
    key.extend_from_slice(name);
    key.extend_from_slice(rest);
    key
}
