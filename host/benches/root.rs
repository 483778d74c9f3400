//! Criterion micro-benches of the root update hot path: [`Store::apply`] of a round's
//! delta (old values read, lattice digests swapped, one sled batch), and the lattice
//! update of a single entry.
//!
//! The deltas add to counters and put map entries over a fixed set of 10,000 keys, so the
//! state stops growing after warm-up and every iteration measures updates of existing
//! entries.

use commute::merge::Delta;
use commute::root::{Entry, Lattice};
use commute::store::Store;
use commute::write_log::WriteLog;
use criterion::{criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

/// Keys the deltas write to.
const KEYS: u64 = 10_000;

/// A delta of `calls` calls from seq `*next` on, each adding to one counter entry and
/// putting one map entry.
fn delta(next: &mut u64, calls: u64) -> Delta {
    let logs: Vec<(u64, WriteLog)> = (0..calls)
        .map(|_| {
            let seq = *next;
            *next += 1;
            let key = (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) % KEYS).to_be_bytes();
            let mut log = WriteLog::default();
            log.counter_add(b"hits", &key, 1).expect("within the caps");
            log.map_put(b"last", &key, &seq.to_le_bytes())
                .expect("within the caps");
            (seq, log)
        })
        .collect();
    Delta::from_calls(logs.iter().map(|(seq, log)| (*seq, "bench", log))).expect("distinct seqs")
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("root");
    for calls in [100, 1_000] {
        let mut store = Store::temporary().expect("a temporary store");
        let mut next = 1;
        // Warm up: every key exists, so each write replaces an entry.
        store
            .apply(&delta(&mut next, KEYS))
            .expect("the warm-up commits");
        group.throughput(Throughput::Elements(2 * calls));
        group.bench_function(BenchmarkId::new("store_apply", calls), |b| {
            b.iter_batched(
                || delta(&mut next, calls),
                |d| black_box(store.apply(&d).expect("commits")),
                BatchSize::SmallInput,
            );
        });
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("lattice_insert", |b| {
        let mut lattice = Lattice::new();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let key = i.to_be_bytes();
            lattice.insert(&Entry::Counter {
                canister: "bench",
                name: b"hits",
                key: &key,
                value: 1,
            });
        });
        black_box(lattice.root());
    });
    group.finish();
}

/// The group, in a private module: the macro's `pub fn` needs no docs there.
mod group {
    criterion::criterion_group!(benches, super::apply);
}
criterion_main!(group::benches);
