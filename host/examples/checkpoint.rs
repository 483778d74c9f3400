//! What a checkpoint costs at a given state: a store filled with the writes of N logging
//! calls (a counter entry, a map entry and a list element each, committed in rounds of
//! 1,000), then three checkpoints of it, then a reopen from the checkpoint; prints their
//! times and the data dir's size.
//!
//! ```text
//! cargo run --release -p commute --example checkpoint -- 600000
//! ```

use commute::merge::Delta;
use commute::store::Store;
use commute::write_log::WriteLog;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u64 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("not a count of calls: {arg}"))?,
        None => 200_000,
    };
    let dir = tempfile::tempdir()?;
    let db = sled::Config::new().path(dir.path()).open()?;
    let mut store = Store::init(&db)?;
    // Only the checkpoints below, none while filling.
    store.checkpoint_after(usize::MAX);
    let started = Instant::now();
    let mut seq = 1u64;
    while seq <= calls {
        let mut delta = Delta::new();
        for _ in 0..1_000 {
            let mut log = WriteLog::default();
            let hash = blake3::hash(&seq.to_le_bytes());
            let user = &hash.as_bytes()[..10];
            let event = format!("event {seq}");
            log.counter_add(b"count", user, 1)?;
            log.map_put(b"last", user, event.as_bytes())?;
            log.list_push(b"events", event.as_bytes())?;
            delta.add_call(seq, "logger", &log)?;
            seq += 1;
        }
        store.apply(&delta)?;
    }
    store.flush()?;
    println!("{calls} calls' writes in {:?}", started.elapsed());
    let mut checkpoints = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        store.checkpoint()?;
        checkpoints.push(started.elapsed().as_millis());
    }
    let root = store.root();
    drop((store, db));
    let started = Instant::now();
    let db = sled::Config::new().path(dir.path()).open()?;
    let reopened = Store::init(&db)?;
    let reopen = started.elapsed().as_millis();
    assert_eq!(
        reopened.root(),
        root,
        "the reopened store has the same root"
    );
    println!(
        "checkpoints {checkpoints:?} ms, reopen {reopen} ms, data dir {} MB",
        size(dir.path())? >> 20
    );
    Ok(())
}

/// The bytes of the files under `dir`.
fn size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
