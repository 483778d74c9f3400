//! Criterion micro-bench of the merge hot path: the [`Delta`] of a round's N write logs.
//!
//! Each log is what one `logger.log` call emits (a counter add and a map put on its user's
//! entry, a list push), over 256 users, so entries collide the way a real round's do; the
//! fold of a round's logs into one delta, call by call, as a worker folds its share
//! (`Delta::add_call`), for three kinds of call; and the join of two halves of a round in
//! which every call has a user of its own (the reduce of the deltas a round's workers
//! folded).

use commute::merge::Delta;
use commute::write_log::WriteLog;
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

/// `n` logs as the logger canister writes them, over 256 users.
fn logs(n: usize) -> Vec<WriteLog> {
    (0..n as u64)
        .map(|i| log_of((i % 256).to_le_bytes().to_vec(), i))
        .collect()
}

/// `n` logs of `logger.log` calls, each for a user of its own.
fn own_users(n: usize) -> Vec<WriteLog> {
    (0..n as u64)
        .map(|i| log_of(blake3::hash(&i.to_le_bytes()).as_bytes()[..10].to_vec(), i))
        .collect()
}

/// What `logger.log(user, "event i")` writes: its user's count and last event, and the
/// event on the list.
fn log_of(user: Vec<u8>, i: u64) -> WriteLog {
    let mut log = WriteLog::default();
    log.counter_add(b"events_per_user", &user, 1)
        .expect("within the caps");
    log.map_put(b"last_event", &user, format!("event {i}").as_bytes())
        .expect("within the caps");
    log.list_push(b"events", format!("event {i}").as_bytes())
        .expect("within the caps");
    log
}

/// `n` logs of `analytics.view(page)` calls over 16 pages: the page's count and the total.
fn page_views(n: usize) -> Vec<WriteLog> {
    (0..n)
        .map(|i| {
            let mut log = WriteLog::default();
            log.counter_add(b"views", format!("/page/{}", i % 16).as_bytes(), 1)
                .expect("within the caps");
            log.counter_add(b"total_views", b"", 1)
                .expect("within the caps");
            log
        })
        .collect()
}

/// `n` logs of `analytics.work(key, _)` calls, each on a key of its own: the key's count
/// and the checksum.
fn work(n: usize) -> Vec<WriteLog> {
    (0..n as u64)
        .map(|i| {
            let mut log = WriteLog::default();
            log.counter_add(b"work_done", &(1_000_000 + i).to_be_bytes(), 1)
                .expect("within the caps");
            log.counter_add(b"work_checksum", b"", 0x5eed)
                .expect("within the caps");
            log
        })
        .collect()
}

fn merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.sample_size(20);
    for n in [100, 1_000, 10_000] {
        let logs = logs(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("delta_of_logs", n), &logs, |b, logs| {
            b.iter(|| {
                let calls = (1..).zip(logs).map(|(seq, log)| (seq, "logger", log));
                black_box(Delta::from_calls(calls).expect("distinct seqs"))
            });
        });
    }
    // A round's logs folded call by call into one delta, as each worker folds its share.
    for (kind, logs) in [
        ("logging", own_users(1_000)),
        ("page_views", page_views(1_000)),
        ("work", work(1_000)),
    ] {
        group.throughput(Throughput::Elements(logs.len() as u64));
        group.bench_with_input(BenchmarkId::new("folded", kind), &logs, |b, logs| {
            b.iter(|| {
                let mut delta = Delta::new();
                for (seq, log) in (1..).zip(logs) {
                    delta
                        .add_call(seq, "analytics", log)
                        .expect("distinct seqs");
                }
                black_box(delta)
            });
        });
    }
    // The reduce of a round's per-worker deltas: two halves of a round of logging calls,
    // every call its own user, joined.
    for n in [1_000, 10_000] {
        let logs = own_users(n);
        let halves = || {
            let (mut even, mut odd) = (Delta::new(), Delta::new());
            for (seq, log) in (1..).zip(&logs) {
                let half = if seq % 2 == 0 { &mut even } else { &mut odd };
                half.add_call(seq, "logger", log).expect("distinct seqs");
            }
            (even, odd)
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("halves_joined", n), &n, |b, _| {
            b.iter_batched(
                halves,
                |(even, odd)| black_box(even.merged(odd).expect("distinct seqs")),
                criterion::BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// The group, in a private module: the macro's `pub fn` needs no docs there.
mod group {
    criterion::criterion_group!(benches, super::merge);
}
criterion_main!(group::benches);
