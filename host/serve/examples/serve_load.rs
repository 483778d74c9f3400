//! The load check of `commute serve` beside slow and idle connections (docs/bench.md, "Load
//! check"): 8 normal clients' time to durable, alone and while 100 slow clients trickle a
//! body and thousands of idle connections are open.
//!
//! ```sh
//! cargo build -p commute-cli --bin commute && cargo build -p commute-serve --example serve_load
//! ulimit -n 20000 && target/debug/examples/serve_load --idle 19800   # --slow 100 --clients 8 --calls 250 --reps 3
//! ```
//!
//! It starts `commute serve` (defaults, the `commute` binary beside this one's directory,
//! or `$COMMUTE_BIN`) on a fresh data dir, installs the logger, then, `--reps` times: the
//! clients' `logger.log` submits alone (binary arguments, keep-alive, one at a time each),
//! then the same while the slow clients each send one byte of a chunked body a second and
//! the idle connections are open, then closes that load. It prints one JSON line: p50 and
//! p99 over all turns, alone and loaded, their ratio (the goal: ≤ 2), and how many sockets
//! the server held during the loaded phase. Every connection goes to 127.0.0.1 and the run
//! ends within a minute or two.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use commute_examples::LOGGER;

struct Args {
    idle: usize,
    slow: usize,
    clients: usize,
    calls: usize,
    reps: usize,
}

fn args() -> Args {
    let mut a = Args {
        idle: 19_800,
        slow: 100,
        clients: 8,
        calls: 250,
        reps: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{flag} takes a number"));
        match flag.as_str() {
            "--idle" => a.idle = value,
            "--slow" => a.slow = value,
            "--clients" => a.clients = value,
            "--calls" => a.calls = value,
            "--reps" => a.reps = value,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// The server, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn commute_bin() -> std::path::PathBuf {
    if let Some(bin) = std::env::var_os("COMMUTE_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(|examples| examples.parent())
        .expect("target/PROFILE/examples")
        .join("commute")
}

/// Starts `commute serve` on `dir` with the logger installed; its address.
fn start(dir: &std::path::Path) -> (Server, String) {
    let bin = commute_bin();
    let dir_arg = dir.to_str().expect("a UTF-8 temp dir");
    let installed = Command::new(&bin)
        .args(["--data-dir", dir_arg, "install", "logger", "--wasm"])
        .arg(LOGGER.wasm_path)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (build it first)", bin.display()));
    assert!(installed.status.success(), "{installed:?}");
    let mut child = Command::new(&bin)
        .args(["--data-dir", dir_arg, "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start commute serve");
    // It prints its URL once it listens.
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the server's first line");
    let addr = line
        .trim()
        .strip_prefix("http://")
        .expect("a URL")
        .to_string();
    (Server(child), addr)
}

/// One keep-alive client: `calls` submits, each timed from send to its answer (durable).
fn client(addr: &str, calls: usize, seed: usize) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls {
        let user = candid::Principal::from_slice(&[(seed % 251) as u8, (i % 251) as u8, 1]);
        let body = candid::encode_args((user, format!("event {i}"))).expect("encodes");
        let head = format!(
            "POST /submit/logger/log HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/candid\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let sent = Instant::now();
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(&body).expect("send");
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.contains(" 202 "), "{status}");
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("a length");
            }
        }
        let mut answer = vec![0; length];
        reader.read_exact(&mut answer).expect("body");
        times.push(sent.elapsed());
    }
    times
}

/// `n` clients at once; all their times.
fn clients(addr: &str, n: usize, calls: usize) -> Vec<Duration> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|seed| s.spawn(move || client(addr, calls, seed)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a client"))
            .collect()
    })
}

/// How many sockets process `pid` holds.
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

fn at(times: &mut [Duration], q: f64) -> f64 {
    times.sort_unstable();
    let i = ((times.len() as f64 - 1.0) * q).round() as usize;
    times.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, addr) = start(dir.path());
    let pid = server.0.id();
    let (mut alone, mut loaded) = (Vec::new(), Vec::new());
    let mut held = usize::MAX;
    for _ in 0..a.reps {
        alone.extend(clients(&addr, a.clients, a.calls));
        // The load: slow bodies, one byte a second, and idle connections.
        let stop = Arc::new(AtomicBool::new(false));
        let slow: Vec<TcpStream> = (0..a.slow)
            .map(|_| {
                let mut s = TcpStream::connect(&addr).expect("a slow client");
                let head = format!(
                    "POST /submit/logger/log HTTP/1.1\r\nhost: {addr}\r\ncontent-type: text/x-candid\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                s.write_all(head.as_bytes()).expect("send");
                s
            })
            .collect();
        // The slow connections move to the thread that trickles (no clones: descriptors are
        // what this check runs short of), and come back when it stops.
        let trickle = {
            let stop = stop.clone();
            let mut slow = slow;
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for s in &mut slow {
                        let _ = s.write_all(b"1\r\n(\r\n");
                    }
                    // Paces the trickle (one byte a second), not a synchronization.
                    std::thread::sleep(Duration::from_secs(1));
                }
                slow
            })
        };
        let idle: Vec<TcpStream> = (0..a.idle)
            .map_while(|_| TcpStream::connect(&addr).ok())
            .collect();
        assert_eq!(idle.len(), a.idle, "opened every idle connection");
        // Until the server has taken them all (or as many as its descriptors allow).
        let want = a.idle + a.slow;
        let deadline = Instant::now() + Duration::from_secs(20);
        while sockets(pid) < want && Instant::now() < deadline {
            std::thread::yield_now();
        }
        loaded.extend(clients(&addr, a.clients, a.calls));
        held = held.min(sockets(pid));
        stop.store(true, Ordering::Relaxed);
        drop(trickle.join().expect("the trickle"));
        drop(idle);
    }
    let (alone_p99, loaded_p99) = (at(&mut alone, 0.99), at(&mut loaded, 0.99));
    println!(
        "{}",
        serde_json::json!({
            "idle": a.idle,
            "slow": a.slow,
            "clients": a.clients,
            "calls": a.calls * a.clients * a.reps,
            "alone_p50_ms": at(&mut alone, 0.5),
            "alone_p99_ms": alone_p99,
            "loaded_p50_ms": at(&mut loaded, 0.5),
            "loaded_p99_ms": loaded_p99,
            "ratio": loaded_p99 / alone_p99.max(1e-9),
            "server_sockets_while_loaded": held,
        })
    );
}
