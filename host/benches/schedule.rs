//! Criterion micro-benches of the scheduler hot path: building a round's key DAG
//! ([`Schedule::build`]) for calls with 3 keys each, and building it plus dispatching
//! every call (doing nothing) on a 2-thread rayon pool ([`Schedule::run`]).
//!
//! Keys are drawn from 4 × n values, so some calls share a key and the DAG has edges.

use commute::schedule::Schedule;
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

/// Three keys per call, for `n` calls, deterministic.
fn keys(n: usize) -> Vec<Vec<(&'static str, [u8; 8])>> {
    let space = 4 * n as u64;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % space
    };
    (0..n)
        .map(|_| (0..3).map(|_| ("bench", next().to_be_bytes())).collect())
        .collect()
}

fn schedule(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedule");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool");
    for n in [1_000, 10_000] {
        let keys = keys(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("build", n), &keys, |b, keys| {
            b.iter(|| black_box(Schedule::build(keys)));
        });
        group.bench_with_input(BenchmarkId::new("build_and_run", n), &keys, |b, keys| {
            b.iter(|| {
                let schedule = Schedule::build(keys);
                black_box(schedule.run(&pool, black_box, false))
            });
        });
    }
    group.finish();
}

/// The group, in a private module: the macro's `pub fn` needs no docs there.
mod group {
    criterion::criterion_group!(benches, super::schedule);
}
criterion_main!(group::benches);
