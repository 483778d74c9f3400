//! `growth`: whether a round's cost per write stays flat as the state grows.
//!
//! Two stores (`commute::store::Store`, temporary sled databases) are filled, through large
//! deltas rather than call by call, with 10^4 and 10^6 counter entries. Each repetition
//! then commits one round of `sizes.growth_writes` calls on each, interleaved: every call
//! adds 1 to a random existing entry (seeded, distinct within the round), so each write
//! reads the old value, swaps its lattice digest and rewrites it. A round is what the host does after execution: merge the
//! logs into a `Delta`, `Store::apply` it (old values, lattice, one batch), flush.
//!
//! The ratio is the median cost per write at 10^6 entries ÷ at 10^4 (target ≤ 1.3: merge
//! and root are O(writes), and sled's lookups grow only logarithmically). The raw figures
//! split the cost per write into its phases: `merge` (`Delta::from_calls`), `prepare`
//! (reading old values, the lattice), `commit` (the sled batch) and `flush`.

use super::progress::Progress;
use super::rng::SplitMix64;
use super::timing::{interleave, median, round};
use super::Sizes;
use commute::merge::Delta;
use commute::store::Store;
use commute::write_log::{LogLimits, WriteLog};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The canister and counter the entries belong to.
const CANISTER: &str = "growth";
const COUNTER: &[u8] = b"entries";
/// Entries per filling delta.
const FILL_CHUNK: u64 = 50_000;
/// The seed of the keys written.
const SEED: u64 = 0x6e0_7e55;

/// Measures `growth`; see the module doc.
///
/// # Errors
///
/// If the store fails.
pub(crate) fn measure(sizes: Sizes, progress: &Progress) -> anyhow::Result<Value> {
    let (small_n, big_n) = sizes.growth_entries;
    let fill_steps = (small_n.div_ceil(FILL_CHUNK) + big_n.div_ceil(FILL_CHUNK)) as usize;
    progress.start("growth", fill_steps + 2 * (sizes.reps + 1));
    let mut stores = [filled(small_n, progress)?, filled(big_n, progress)?];
    let entries = [small_n, big_n];
    let writes = sizes.growth_writes;
    let mut rng = SplitMix64::new(SEED);
    // Each round's phases, per store: merge, prepare (old values, lattice), commit (the
    // sled batch), flush.
    let mut phases: [Vec<[Duration; 4]>; 2] = [Vec::new(), Vec::new()];
    let times = interleave(sizes.reps, 2, |turn| {
        let store = &mut stores[turn.subject];
        let first = store.last_seq().map_or(1, |s| s + 1);
        // Distinct keys, so both stores get exactly `writes` writes (none merge away).
        let mut keys = std::collections::BTreeSet::new();
        while keys.len() < writes.min(entries[turn.subject] as usize) {
            keys.insert(rng.below(entries[turn.subject]));
        }
        let logs: Vec<WriteLog> = keys
            .iter()
            .map(|key| {
                let mut log = WriteLog::default();
                log.counter_add(COUNTER, &key.to_be_bytes(), 1)
                    .expect("one op is within the caps");
                log
            })
            .collect();
        let started = Instant::now();
        let delta = Delta::from_calls((first..).zip(&logs).map(|(seq, log)| (seq, CANISTER, log)))?;
        let merged = Instant::now();
        let commit = store.prepare(&delta)?;
        let prepared = Instant::now();
        store.commit(commit)?;
        let committed = Instant::now();
        store.flush()?;
        let flushed = Instant::now();
        if turn.rep.is_some() {
            phases[turn.subject].push([
                merged - started,
                prepared - merged,
                committed - prepared,
                flushed - committed,
            ]);
        }
        progress.step();
        Ok::<_, anyhow::Error>(flushed - started)
    })?;
    let (small, big) = (median(&times[0]), median(&times[1]));
    let per_write_ns = |d: Duration| round(d.as_secs_f64() * 1e9 / writes as f64, 0);
    let split = |subject: usize| -> Value {
        let phase = |i: usize| {
            let values: Vec<Duration> = phases[subject].iter().map(|p| p[i]).collect();
            per_write_ns(median(&values))
        };
        json!({"merge": phase(0), "prepare": phase(1), "commit": phase(2), "flush": phase(3)})
    };
    Ok(json!({
        "measure": "growth",
        "ratio": round(big.as_secs_f64() / small.as_secs_f64().max(1e-12), 3),
        "entries": [small_n, big_n],
        "writes_per_round": writes,
        "reps": sizes.reps,
        "small_ns_per_write": per_write_ns(small),
        "big_ns_per_write": per_write_ns(big),
        "small_split_ns_per_write": split(0),
        "big_split_ns_per_write": split(1),
    }))
}

/// A temporary store holding `n` counter entries (keys `0..n`, 8 bytes big-endian, value 1),
/// committed `FILL_CHUNK` entries per delta.
fn filled(n: u64, progress: &Progress) -> anyhow::Result<Store> {
    let mut store = Store::temporary()?;
    let limits = LogLimits {
        max_ops: u32::MAX,
        max_bytes: u32::MAX,
    };
    let mut seq = 1;
    let mut at = 0;
    while at < n {
        let end = (at + FILL_CHUNK).min(n);
        let mut log = WriteLog::new(limits);
        for key in at..end {
            log.counter_add(COUNTER, &key.to_be_bytes(), 1)?;
        }
        store.apply(&Delta::from_call(seq, CANISTER, &log))?;
        seq += 1;
        at = end;
        progress.step();
    }
    store.flush()?;
    Ok(store)
}
