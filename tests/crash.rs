//! Crash safety (`docs/modes.md`): `commute tick` killed with SIGKILL at random moments, then
//! restarted, reaches the root of an uninterrupted run, with every accepted call applied
//! exactly once.

use commute::submit::Args;
use commute::{Host, Principal, Status};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHAOS_WAT: &str = include_str!("guests/chaos.wat");
const CHAOS_DID: &str = include_str!("guests/chaos.did");
const BARRIER_WAT: &str = include_str!("guests/barrier.wat");
const BARRIER_DID: &str = include_str!("guests/barrier.did");
const CALLS: u64 = 300;

/// A data dir with `chaos` and `barrier` installed and `CALLS` calls queued: chaos's keys
/// collide, some trap, some fire children; barrier's oneway `snap`s wait for the bumps
/// before them while later chaos calls commit ahead of them.
fn prepare(dir: &Path) {
    let mut host = Host::open(dir).unwrap();
    let wasm = wat::parse_str(CHAOS_WAT).unwrap();
    host.install("chaos", &wasm, Some(("chaos.did", CHAOS_DID)), None)
        .unwrap();
    let wasm = wat::parse_str(BARRIER_WAT).unwrap();
    host.install("barrier", &wasm, Some(("barrier.did", BARRIER_DID)), None)
        .unwrap();
    let texts: Vec<String> = (0..CALLS)
        .map(|i| format!("({}, {})", i % 7, i % 31))
        .collect();
    let calls: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (canister, method, arg) = match (i % 25, i % 5, i % 4) {
                (12, _, _) => ("barrier", "snap", "()"),
                (_, 3, _) => ("barrier", "bump", "()"),
                (_, _, 0) => ("chaos", "pair", t.as_str()),
                _ => ("chaos", "hit", t.as_str()),
            };
            (canister, method, Args::Text(arg), Principal::anonymous())
        })
        .collect();
    host.submit_batch(&calls).unwrap();
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

/// `commute tick` on `dir`; with `checkpoints`, a checkpoint after every round, so kills
/// land in checkpoints too, and each restart recovers from one.
fn tick_with(dir: &Path, checkpoints: bool) -> Child {
    let every = if checkpoints { "0" } else { "67108864" };
    Command::new(env!("CARGO_BIN_EXE_commute"))
        .arg("--data-dir")
        .arg(dir)
        .args(["tick", "--threads", "2", "--round-size", "16"])
        .args(["--checkpoint-bytes", every])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn tick(dir: &Path) -> Child {
    tick_with(dir, false)
}

/// Runs `tick` to the end; how many calls each of its rounds committed, in order.
fn tick_to_the_end(dir: &Path) -> Vec<u64> {
    let out = tick(dir).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let report: serde_json::Value = serde_json::from_str(line).unwrap();
            report["calls"].as_u64().unwrap()
        })
        .collect()
}

/// Root, state and every outcome of the finished run in `dir`.
fn finished(dir: &Path) -> (String, serde_json::Value, Vec<Status>) {
    let host = Host::open(dir).unwrap();
    let outcomes: Vec<Status> = (1..)
        .map(|seq| host.status(seq).unwrap())
        .take_while(|s| *s != Status::Unknown)
        .collect();
    assert!(
        !outcomes.contains(&Status::Pending),
        "nothing is left pending"
    );
    let state = serde_json::json!([host.dump("chaos").unwrap(), host.dump("barrier").unwrap()]);
    (host.root().to_hex(), state, outcomes)
}

/// A deterministic stream of pseudo-random numbers (no dependency, reproducible).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

#[test]
fn sigkill_during_tick_loses_nothing_and_doubles_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let prepared = tmp.path().join("prepared");
    prepare(&prepared);

    let reference_dir = tmp.path().join("reference");
    copy_dir(&prepared, &reference_dir);
    let started = Instant::now();
    let sizes = tick_to_the_end(&reference_dir);
    let round_time = started.elapsed() / sizes.len().max(1) as u32;
    // The rounds that hold the queued calls; the children's come after them.
    let rounds = sizes
        .iter()
        .scan(0, |done, calls| {
            *done += calls;
            Some(*done)
        })
        .take_while(|done| *done < CALLS)
        .count() as u64
        + 1;
    let reference = finished(&reference_dir);
    assert!(reference.2.len() > CALLS as usize, "children ran too");
    // The workload commits chaos calls ahead of a snap that waits: the kills below land
    // while the committed calls are not a prefix of the queue.
    {
        let dir = tmp.path().join("ahead");
        copy_dir(&prepared, &dir);
        let mut host = Host::open(&dir).unwrap();
        host.tick_until(|_| std::ops::ControlFlow::Break(()))
            .unwrap();
        let snap = 13; // the call of i = 12
        assert_eq!(host.status(snap).unwrap(), Status::Pending);
        assert!((snap + 1..=CALLS).any(|s| matches!(host.status(s).unwrap(), Status::Finished(_))));
    }

    let mut rng = Lcg(0x5eed);
    let mut kills = 0;
    let mut mid_run = 0;
    // 8 trials of 3 kills; `COMMUTE_CRASH_TRIALS=34` gives the 102 kills of a long run.
    let trials = std::env::var("COMMUTE_CRASH_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    for trial in 0..trials {
        let dir = tmp.path().join(format!("trial{trial}"));
        copy_dir(&prepared, &dir);
        // Three kills in a row on the same dir, each at a random moment of a run: after a
        // random number of the rounds of the queued calls has committed (each prints its
        // line once flushed), plus a random part of a round, so kills land inside rounds
        // and commits too.
        // Every other trial checkpoints after each round: kills land in a checkpoint's
        // writes, and the next start recovers from the checkpoint and the journals after.
        for _ in 0..3 {
            let mut child = tick_with(&dir, trial % 2 == 1);
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            for _ in 0..rng.next(rounds) {
                if stdout.read_line(&mut String::new()).unwrap() == 0 {
                    break; // it finished first
                }
            }
            let at = Duration::from_micros(rng.next(round_time.as_micros() as u64));
            // Choosing the moment of the kill, not waiting for anything to happen.
            std::thread::sleep(at);
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            // Did this kill land mid-run: some calls committed, some still pending?
            let host = Host::open(&dir).unwrap();
            let first = host.status(1).unwrap();
            let last = host.status(CALLS).unwrap();
            if first != Status::Pending && last == Status::Pending {
                mid_run += 1;
            }
        }
        tick_to_the_end(&dir);
        let got = finished(&dir);
        assert_eq!(got.0, reference.0, "trial {trial}: root differs");
        assert_eq!(got.1, reference.1, "trial {trial}: state differs");
        assert_eq!(got.2, reference.2, "trial {trial}: outcomes differ");
    }
    eprintln!("{kills} kills in {trials} trials, {mid_run} between commits");
    assert!(kills >= 3 * trials.min(8));
    assert!(
        mid_run >= 5,
        "only {mid_run} of {kills} kills landed between commits"
    );
}

/// A kill while sled writes a snapshot leaves `snap.LSN.generating` behind, which sled
/// 0.34.7 then reads as the newest snapshot and calls corruption. The host opens anyway,
/// with everything the kill left committed.
#[test]
fn an_unfinished_snapshot_left_by_a_kill_does_not_stop_the_host_opening() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    prepare(&dir);
    tick_to_the_end(&dir);
    let before = finished(&dir);
    // What a kill between sled's snapshot write and its rename leaves.
    let unfinished = dir.join("snap.00000000FFFFFFFF.generating");
    std::fs::write(&unfinished, b"half a snap").unwrap();
    let raw = sled::Config::new().path(&dir).open().map(drop);
    assert!(
        matches!(raw, Err(sled::Error::Corruption { .. })),
        "sled itself refuses: {raw:?}"
    );
    assert_eq!(finished(&dir), before);
    assert!(!unfinished.exists());
}
