//! A full disk never tears a round: the disk fills at every write and flush of the commit
//! path in turn (`store/faults.rs`), then, at the next open, at a write of the replay.
//!
//! Each run: logger calls submitted in batches, a tick after each, on a host whose n-th
//! commit-path write fails with ENOSPC. The tick that hits it must fail with an error that
//! names the cause, and every later one must refuse, never hang. Then the host is
//! reopened on a disk that fills again during the replay, then reopened with space, and
//! it must reach exactly the root of a sequential run of every call it accepted, each of
//! them `done`, with the store's invariants checked from scratch. Then the same with
//! 2-thread ticks of rounds large enough that each commits split beside the next round's
//! calls, its flush on the flush thread (`Committer::commit_beside`).

use super::{Config, Host};
use crate::outcome::{Outcome, Status};
use crate::root::Root;
use crate::store::faults::Faults;
use crate::submit::Args;
use candid::Principal;
use commute_examples::LOGGER;
use std::path::Path;
use std::sync::Arc;

/// Batches submitted, and calls in each: rounds of at most 2 calls, so each batch is
/// several rounds.
const BATCHES: u64 = 2;
const CALLS: u64 = 3;

fn config(threads: usize) -> Config {
    Config {
        threads,
        max_round_calls: 2,
        ..Config::default()
    }
}

/// The argument of call `k`: three users, so counters and maps are overwritten.
fn arg(k: u64) -> String {
    let user = Principal::from_slice(&[(k % 3) as u8 + 1]);
    format!("(principal \"{user}\", \"event {k}\")")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Submits batch `b`; returns the seqs and argument numbers accepted.
fn submit(host: &mut Host, b: u64) -> Vec<(u64, u64)> {
    let ks: Vec<u64> = (b * CALLS..(b + 1) * CALLS).collect();
    let args: Vec<String> = ks.iter().map(|k| arg(*k)).collect();
    let calls: Vec<_> = args
        .iter()
        .map(|a| ("logger", "log", Args::Text(a), Principal::anonymous()))
        .collect();
    let seqs = host.submit_batch(&calls).unwrap();
    seqs.into_iter().zip(ks).collect()
}

fn assert_full_disk(err: &dyn std::fmt::Display) {
    let text = err.to_string();
    assert!(
        text.contains("No space left on device") || text.contains("restart"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}

/// The root of the accepted calls `ks`, run one at a time in order on a fresh copy of
/// `template`.
fn sequential_root(template: &Path, ks: &[u64]) -> Root {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(template, dir.path());
    let mut host = Host::open_with(dir.path(), config(1)).unwrap();
    for k in ks {
        let a = arg(*k);
        host.submit("logger", "log", Args::Text(&a), Principal::anonymous())
            .unwrap();
        host.tick(|_| ()).unwrap();
    }
    host.root()
}

/// Once as rounds commit by default, then with a checkpoint after every round, so that the
/// disk also fills at each write of a checkpoint and of the removal of what it replaces.
/// One test, not two: two running at once reopen their dirs while the other loads the
/// machine, and sled's threads may then still hold a dir just dropped.
#[test]
fn a_full_disk_at_any_write_of_a_commit_a_checkpoint_or_a_replay_never_tears_a_round() {
    full_disk_at_every_write(false);
    full_disk_at_every_write(true);
    full_disk_beside_large_rounds();
}

/// Calls in [`full_disk_beside_large_rounds`]'s batch, and the most a round takes: each
/// call its own user, so a round of `LARGE_ROUND` writes ~4 records a call, enough that
/// its commit lands split while it flushes (`Commit::lands_split`), beside the next
/// round's calls.
const LARGE_BATCH: u64 = 600;
const LARGE_ROUND: usize = 200;
// A logging call writes 4 state records (counter, map entry, list element, its position).
const _: () = assert!(4 * LARGE_ROUND >= crate::store::LAND_SPLIT_MIN);

/// The argument of call `k` of the large batch: user `k`.
fn own_user_arg(k: u64) -> String {
    let user = Principal::from_slice(&k.to_be_bytes());
    format!("(principal \"{user}\", \"event {k}\")")
}

/// The disk fills at each write of 2-thread ticks whose rounds are large enough to commit
/// split beside the next round (`Committer::commit_beside`); then the host reopens with
/// space and must reach the root of the same calls run one round at a time on 1 thread.
fn full_disk_beside_large_rounds() {
    let template = tempfile::tempdir().unwrap();
    {
        let mut host = Host::open_with(template.path(), config(1)).unwrap();
        host.install(LOGGER.name, LOGGER.wasm, LOGGER.did_file(), None)
            .unwrap();
    }
    let args: Vec<String> = (0..LARGE_BATCH).map(own_user_arg).collect();
    let calls: Vec<_> = args
        .iter()
        .map(|a| ("logger", "log", Args::Text(a), Principal::anonymous()))
        .collect();
    let large = Config {
        threads: 2,
        max_round_calls: LARGE_ROUND,
        ..Config::default()
    };
    let reference = {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        let mut host = Host::open_with(dir.path(), config(1)).unwrap();
        host.submit_batch(&calls).unwrap();
        while host.tick_round().unwrap().is_some() {}
        host.root()
    };
    let mut n = 0;
    loop {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        let faults = Arc::new(Faults::default());
        let mut host = Host::open_faulty(dir.path(), large.clone(), faults.clone()).unwrap();
        faults.fail_after(n);
        let seqs = host.submit_batch(&calls).unwrap();
        let failed = match host.tick(|_| ()) {
            Ok(_) => false,
            Err(err) => {
                assert_full_disk(&err);
                // Refused, not hung, once broken.
                assert_full_disk(&host.tick(|_| ()).unwrap_err());
                true
            }
        };
        let fired = faults.seen() > n;
        assert_eq!(failed, fired, "write {n}: a failed write fails its tick");
        drop(host);

        let mut host = Host::open_with(dir.path(), large.clone()).unwrap();
        host.tick(|_| ()).unwrap();
        for seq in &seqs {
            assert_eq!(
                host.status(*seq).unwrap(),
                Status::Finished(Outcome::Done),
                "write {n}: seq {seq}"
            );
        }
        host.store.verify().unwrap();
        assert_eq!(host.root(), reference, "write {n}: the root of the batch");
        if !fired {
            break;
        }
        n += 1;
        assert!(n < 1_000, "the commit path has a bounded number of writes");
    }
    assert!(n > 10, "the runs failed {n} distinct writes");
}

fn full_disk_at_every_write(checkpoint_every_round: bool) {
    let template = tempfile::tempdir().unwrap();
    {
        let mut host = Host::open_with(template.path(), config(1)).unwrap();
        host.install(LOGGER.name, LOGGER.wasm, LOGGER.did_file(), None)
            .unwrap();
    }
    let (mut replay_failures, mut replays) = (0, 0);
    let mut n = 0;
    loop {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        let faults = Arc::new(Faults::default());
        let checkpoints = Config {
            checkpoint_bytes: if checkpoint_every_round {
                0
            } else {
                config(2).checkpoint_bytes
            },
            ..config(2)
        };
        let mut host = Host::open_faulty(dir.path(), checkpoints, faults.clone()).unwrap();
        faults.fail_after(n);
        let mut accepted = Vec::new();
        let mut failed = false;
        for b in 0..BATCHES {
            accepted.extend(submit(&mut host, b));
            if let Err(err) = host.tick(|_| ()) {
                assert_full_disk(&err);
                failed = true;
            }
        }
        let fired = faults.seen() > n;
        assert_eq!(failed, fired, "write {n}: a failed write fails its tick");
        drop(host);

        // The disk fills again while the next open replays what is journaled.
        let again = Arc::new(Faults::default());
        again.fail_after(n * 7 % 41);
        replays += 1;
        match Host::open_faulty(dir.path(), config(2), again.clone()) {
            Ok(host) => drop(host),
            Err(err) => {
                assert_full_disk(&err);
                replay_failures += 1;
            }
        }

        let mut host = Host::open_with(dir.path(), config(2)).unwrap();
        host.tick(|_| ()).unwrap();
        for (seq, _) in &accepted {
            assert_eq!(
                host.status(*seq).unwrap(),
                Status::Finished(Outcome::Done),
                "write {n}: seq {seq}"
            );
        }
        host.store.verify().unwrap();
        let ks: Vec<u64> = accepted.iter().map(|(_, k)| *k).collect();
        assert_eq!(
            host.root(),
            sequential_root(template.path(), &ks),
            "write {n}: the root of the accepted calls"
        );
        if !fired {
            break;
        }
        n += 1;
        assert!(n < 1_000, "the commit path has a bounded number of writes");
    }
    assert!(n > 10, "the runs failed {n} distinct writes");
    assert!(
        0 < replay_failures && replay_failures < replays,
        "some replays hit the full disk ({replay_failures} of {replays})"
    );
}
