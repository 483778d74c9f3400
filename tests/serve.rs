//! `commute serve` end to end: the binary on a free loopback port, the logger example
//! installed through the CLI, calls fired from concurrent clients over HTTP, checked against
//! a sequential run of the same calls in seq order; a SIGKILL in the middle of the load; bad
//! requests; backpressure; a second server on the same dir.

use commute::submit::Args;
use commute::{Config, Host, Principal};
use commute_examples::LOGGER;
use commute_serve::client::{Client, ClientError};
use commute_serve::wire::Called;
use commute_serve::{Server, Signals};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest a test waits for a ticket in one request; it asks again while pending.
const WAIT: Duration = Duration::from_secs(30);

/// `commute serve` as a child process.
struct Serve {
    child: Child,
    url: String,
    /// The token the server wrote to the data dir, for installs and dumps.
    token: String,
}

impl Serve {
    fn start(dir: &Path) -> Serve {
        Serve::start_with(dir, Stdio::inherit())
    }

    fn start_with(dir: &Path, stderr: Stdio) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_commute"))
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--threads", "2"])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start commute serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "serve printed {line:?}"
        );
        let token = commute_serve::client::read_token(dir).expect("the server's token");
        Serve { child, url, token }
    }

    fn client(&self) -> Client {
        Client::new(&self.url).with_token(&self.token)
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    /// SIGTERM; the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_commute"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn cli_ok(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "commute {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn user(n: u32) -> Principal {
    Principal::from_slice(&[b'u', (n >> 8) as u8, n as u8])
}

/// A `log` call: its user and its event, which names its client and index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Log {
    user: u32,
    event: String,
}

impl Log {
    fn new(client: u32, i: u32, users: u32) -> Log {
        Log {
            user: (client * 7919 + i) % users,
            event: format!("c{client}-{i}"),
        }
    }

    fn args(&self) -> String {
        format!(
            "(principal \"{}\", \"{}\")",
            user(self.user).to_text(),
            self.event
        )
    }
}

/// Waits until ticket `seq` is no longer pending; its status.
fn wait_done(client: &Client, seq: u64) -> String {
    loop {
        let ticket = client.status(seq, Some(WAIT)).unwrap();
        if !ticket.is_pending() {
            return ticket.to_string();
        }
    }
}

/// Fires `per_client` calls from each of `clients` threads; every (seq, call) answered is
/// sent on `answered` as it comes. A client stops at its first error.
fn fire(
    url: &str,
    clients: u32,
    per_client: u32,
    users: u32,
    answered: &mpsc::Sender<(u64, Log)>,
) -> Vec<Option<ClientError>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let client = Client::new(url);
                let answered = answered.clone();
                s.spawn(move || {
                    for i in 0..per_client {
                        let log = Log::new(c, i, users);
                        let args = log.args();
                        match client.submit(
                            "logger",
                            "log",
                            Args::Text(&args),
                            Principal::anonymous(),
                        ) {
                            Ok(seq) => {
                                let _ = answered.send((seq, log));
                            }
                            Err(e) => return Some(e),
                        }
                    }
                    None
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A host that runs `calls` one at a time in the order given, after installing the logger.
fn sequential(calls: &[Log]) -> Host {
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    let mut host = Host::temporary_with(config).unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    for chunk in calls.chunks(1000) {
        let args: Vec<String> = chunk.iter().map(Log::args).collect();
        let batch: Vec<_> = args
            .iter()
            .map(|a| ("logger", "log", Args::Text(a), Principal::anonymous()))
            .collect();
        host.submit_batch(&batch).unwrap();
    }
    host.tick(|_| {}).unwrap();
    host
}

/// A server on `dir` with the logger installed, and a client of it.
fn served_logger(dir: &Path) -> (Serve, Client) {
    let server = Serve::start(dir);
    install_logger(dir);
    let client = server.client();
    (server, client)
}

fn install_logger(dir: &Path) {
    let out = cli_ok(
        dir,
        &[
            "install",
            "logger",
            "--wasm",
            LOGGER.wasm_path,
            "--did",
            LOGGER.did_path,
        ],
    );
    assert_eq!(
        out,
        format!(
            "installed logger (id {})\n",
            commute::registry::principal_of("logger")
        )
    );
}

/// Every event in the logger's list, in list order, from a dump (a single scan; the
/// logger's paged `events` query is checked on the first page).
fn events(client: &Client) -> Vec<String> {
    let dump = client.dump("logger").unwrap();
    let all: Vec<String> = dump["lists"][hex::encode("events")]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| String::from_utf8(hex::decode(e.as_str().unwrap()).unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let none = Principal::anonymous();
    let len = client
        .query("logger", "events_len", Args::Text("()"), none)
        .unwrap();
    let len: u64 = candid::decode_one(&hex::decode(len.bytes).unwrap()).unwrap();
    assert_eq!(len, all.len() as u64);
    let page = client
        .query(
            "logger",
            "events",
            Args::Text("(0 : nat64, 100 : nat64)"),
            none,
        )
        .unwrap();
    let page: Vec<String> = candid::decode_one(&hex::decode(page.bytes).unwrap()).unwrap();
    assert_eq!(page, all[..all.len().min(100)]);
    all
}

#[test]
fn ten_thousand_calls_from_eight_clients_equal_a_sequential_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path());
    // The CLI finds the server from the data dir and installs through it.
    install_logger(dir.path());
    let client = server.client();

    let (tx, rx) = mpsc::channel();
    let errors = fire(&server.url, 8, 1250, 40, &tx);
    drop(tx);
    assert!(errors.iter().all(Option::is_none), "{errors:?}");
    let mut answered: Vec<(u64, Log)> = rx.into_iter().collect();
    answered.sort_by_key(|(seq, _)| *seq);
    let seqs: Vec<u64> = answered.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=10_000).collect::<Vec<_>>(),
        "one seq per call, none skipped"
    );

    // Rounds commit in seq order, so once the last is done, all are.
    assert_eq!(wait_done(&client, 10_000), "done");
    for seq in [1, 2, 5000, 9999] {
        assert_eq!(client.status(seq, None).unwrap().to_string(), "done");
    }
    assert_eq!(client.health().unwrap().pending, 0);
    let calls: Vec<Log> = answered.into_iter().map(|(_, log)| log).collect();
    let reference = sequential(&calls);
    assert_eq!(client.root().unwrap(), reference.root().to_hex());
    assert_eq!(
        client.dump("logger").unwrap(),
        reference.dump("logger").unwrap()
    );
    // And against a model that needs no host at all: the count of each user.
    let mut counts = BTreeMap::<u32, u64>::new();
    for c in &calls {
        *counts.entry(c.user).or_default() += 1;
    }
    for (u, n) in counts {
        let arg = format!("(principal \"{}\")", user(u).to_text());
        let out = cli_ok(dir.path(), &["call", "logger", "count", &arg]);
        assert_eq!(out, format!("({n} : nat64)\n"), "count of user {u}");
    }
    assert_eq!(
        events(&client),
        calls.iter().map(|c| c.event.clone()).collect::<Vec<_>>()
    );

    // The other commands go through the server too, and print what they print locally.
    assert_eq!(cli_ok(dir.path(), &["status", "10000"]), "done\n");
    assert_eq!(
        cli_ok(dir.path(), &["root"]),
        format!("{}\n", reference.root().to_hex())
    );
    let dumped: serde_json::Value =
        serde_json::from_str(&cli_ok(dir.path(), &["dump", "--hex", "logger"])).unwrap();
    assert_eq!(dumped, reference.dump("logger").unwrap());
    let queued = cli_ok(
        dir.path(),
        &["call", "logger", "log", r#"(principal "aaaaa-aa", "x")"#],
    );
    assert_eq!(queued, "queued 10001\n");
    assert_eq!(wait_done(&client, 10_001), "done");

    // SIGTERM: the server finishes, flushes and exits 0; the dir then opens locally.
    assert!(server.terminate().success());
    assert!(!dir.path().join("serve.url").exists());
    assert_eq!(cli_ok(dir.path(), &["status", "10001"]), "done\n");
}

#[test]
fn a_sigkill_mid_load_loses_no_answered_call_and_applies_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path());
    install_logger(dir.path());

    let (tx, rx) = mpsc::channel();
    let url = server.url.clone();
    let load = std::thread::spawn(move || fire(&url, 8, 2000, 50, &tx));
    // Kill once enough calls are answered, while the rest are still coming.
    let mut answered: Vec<(u64, Log)> = rx.iter().take(3000).collect();
    server.kill();
    let errors = load.join().unwrap();
    answered.extend(rx.try_iter());
    assert!(
        errors.iter().all(Option::is_some),
        "every client was cut off by the kill"
    );
    assert!(answered.len() < 16_000);

    // Restart on the same dir: the stale address is ignored, the queue is recovered.
    let server = Serve::start(dir.path());
    let client = server.client();
    let last = client.health().unwrap().next_seq - 1;
    assert!(last >= answered.len() as u64);
    assert_eq!(wait_done(&client, last), "done");
    for (seq, _) in &answered {
        assert_eq!(
            client.status(*seq, None).unwrap().to_string(),
            "done",
            "seq {seq}"
        );
    }

    // Exactly once: every answered event is in the log once, and nothing is in it twice.
    // (Calls accepted but cut off before their answer may be there too, also once.)
    let logged = events(&client);
    assert_eq!(logged.len() as u64, last, "one event per accepted seq");
    let unique: HashSet<&String> = logged.iter().collect();
    assert_eq!(unique.len(), logged.len(), "an event applied twice");
    for (seq, log) in &answered {
        assert!(
            unique.contains(&log.event),
            "answered seq {seq} ({}) lost",
            log.event
        );
    }
    // The list is in seq order, so it says which call each seq was: a sequential run of
    // them gives the same root.
    let users: BTreeMap<String, u32> = (0..8)
        .flat_map(|c| (0..2000).map(move |i| Log::new(c, i, 50)))
        .map(|l| (l.event, l.user))
        .collect();
    let calls: Vec<Log> = logged
        .into_iter()
        .map(|event| Log {
            user: users[&event],
            event,
        })
        .collect();
    for (seq, log) in &answered {
        assert_eq!(
            &calls[*seq as usize - 1],
            log,
            "seq {seq} ran as another call"
        );
    }
    assert_eq!(client.root().unwrap(), sequential(&calls).root().to_hex());
    assert!(server.terminate().success());
}

/// A wasm module that exports a memory and nothing else.
const MEMORY_ONLY_WASM: &str = "0061736d010000000503010001070a01066d656d6f72790200";

/// Sends `request` as is and reads the answer until the server closes or has answered.
fn raw_request(url: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The JSON error body ends the answer; the connection may stay open after it.
    while !answer.ends_with(b"}") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn bad_requests_get_a_4xx_naming_the_problem_and_queue_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = served_logger(dir.path());
    let me = Principal::anonymous();
    let refused = |r: Result<u64, ClientError>| match r {
        Err(ClientError::Refused {
            status, message, ..
        }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    };

    let (s, m) = refused(client.submit("nobody", "log", Args::Text("()"), me));
    assert_eq!((s, m.as_str()), (404, "no canister `nobody` is installed"));
    let (s, m) = refused(client.submit("logger", "nope", Args::Text("()"), me));
    assert_eq!(
        (s, m.as_str()),
        (
            404,
            "canister `logger` has no method `nope` (its methods: count, events, events_len, \
             last_event, log)"
        )
    );
    let (s, m) = refused(client.submit("logger", "log", Args::Text("(1, 2)"), me));
    assert_eq!(s, 400);
    assert!(m.contains("`user` of `log`"), "{m}");
    let (s, m) = refused(client.submit("logger", "log", Args::Text("(principal"), me));
    assert_eq!(s, 400, "{m}");
    let (s, m) = refused(client.submit("logger", "log", Args::Binary(b"DIDL\x7f"), me));
    assert_eq!(s, 400, "{m}");
    let (s, m) = refused(client.submit(
        "logger",
        "count",
        Args::Text("(principal \"aaaaa-aa\")"),
        me,
    ));
    assert_eq!(s, 400);
    assert!(m.contains("query"), "{m}");
    let big = vec![0u8; 3 << 20];
    let (s, m) = refused(client.submit("logger", "log", Args::Binary(&big), me));
    assert_eq!(s, 413);
    assert!(m.contains("over the cap"), "{m}");

    // A connection per request: what this test checks is each answer. (That a refusal
    // of a request with a body says `Connection: close`, guard rule F, is checked above.)
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .build()
        .into();
    let status_of = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| {
        let mut r = r.unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.body_mut().read_json().unwrap();
        (status, body["error"].as_str().unwrap().to_string())
    };
    // A body far over the cap is refused from its declared length, before any of it is sent.
    let raw = raw_request(
        &server.url,
        "POST /submit/logger/log HTTP/1.1\r\ncontent-type: text/x-candid\r\ncontent-length: 1099511627776\r\n\r\n",
    );
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("over the cap"), "{raw}");
    // A refusal of a request that sent a body says the connection closes (guard rule F):
    // the body may be unread. An answer to a request without one does not.
    assert!(
        raw.to_ascii_lowercase().contains("connection: close"),
        "{raw}"
    );
    let raw = raw_request(
        &server.url,
        "POST /submit/logger/log HTTP/1.1\r\ncontent-type: image/png\r\ncontent-length: 1\r\n\r\nx",
    );
    assert!(raw.starts_with("HTTP/1.1 415"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("connection: close"),
        "{raw}"
    );
    let raw = raw_request(&server.url, "GET /status/x HTTP/1.1\r\n\r\n");
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(
        !raw.to_ascii_lowercase().contains("connection: close"),
        "{raw}"
    );
    let (s, m) = status_of(
        agent
            .post(format!("{}/install/other", server.url))
            .header("authorization", format!("Bearer {}", server.token))
            .content_type("application/json")
            .send("{not json"),
    );
    assert_eq!(s, 400);
    assert!(
        m.starts_with("install request is not the expected JSON"),
        "{m}"
    );
    let (s, m) = status_of(
        agent
            .post(format!("{}/install/other", server.url))
            .header("authorization", format!("Bearer {}", server.token))
            .send_json(serde_json::json!({"wasm": MEMORY_ONLY_WASM, "did": "service : { f : () -> () query }"})),
    );
    assert_eq!(s, 400, "{m}");
    assert!(m.contains("no export"), "{m}");
    let (s, m) = status_of(
        agent
            .post(format!("{}/submit/logger/log", server.url))
            .content_type("image/png")
            .send("x"),
    );
    assert_eq!(s, 415, "{m}");
    let (s, m) = status_of(agent.get(format!("{}/status/x", server.url)).call());
    assert_eq!((s, m.as_str()), (400, "`x` is not a seq (a whole number)"));
    let (s, m) = status_of(agent.get(format!("{}/status/7", server.url)).call());
    assert_eq!((s, m.as_str()), (404, "no call was accepted as seq 7"));
    let (s, _) = status_of(agent.get(format!("{}/nowhere", server.url)).call());
    assert_eq!(s, 404);
    let (s, m) = status_of(
        agent
            .get(format!("{}/submit/logger/log", server.url))
            .call(),
    );
    assert_eq!(s, 405);
    assert!(m.starts_with("method not allowed here"), "{m}");
    let (s, m) = status_of(
        agent
            .get(format!("{}/status/7?wait=soon", server.url))
            .call(),
    );
    assert_eq!(
        (s, m.as_str()),
        (400, "wait=soon is not a number of seconds")
    );
    // A wait past what a Duration holds is capped, not a crash.
    let (s, m) = status_of(
        agent
            .get(format!("{}/status/7?wait=1e20", server.url))
            .call(),
    );
    assert_eq!((s, m.as_str()), (404, "no call was accepted as seq 7"));
    let (s, m) = status_of(
        agent
            .post(format!("{}/install/logger", server.url))
            .header("authorization", format!("Bearer {}", server.token))
            .send_json(serde_json::json!({"wasm": hex::encode(LOGGER.wasm), "argument": "()"})),
    );
    assert_eq!(s, 400);
    assert!(
        m.contains("init arguments are for the first install"),
        "{m}"
    );
    let (s, m) = status_of(
        agent
            .post(format!("{}/submit/logger/log?caller=nobody", server.url))
            .content_type("text/x-candid")
            .send(r#"(principal "aaaaa-aa", "x")"#),
    );
    assert_eq!(s, 400);
    assert!(m.starts_with("caller `nobody` is not a principal"), "{m}");

    // Nothing was queued, and the server still serves.
    let health = client.health().unwrap();
    assert_eq!((health.next_seq, health.pending), (1, 0));
    let seq = client
        .submit(
            "logger",
            "log",
            Args::Text(r#"(principal "aaaaa-aa", "ok")"#),
            me,
        )
        .unwrap();
    assert_eq!(seq, 1);
    assert_eq!(wait_done(&client, seq), "done");
    match client
        .call("logger", "events_len", Args::Text("()"), me)
        .unwrap()
    {
        Called::Replied(r) => assert_eq!(r.reply, "(1 : nat64)"),
        other => panic!("{other:?}"),
    }
}

/// A caller whose answer was lost retries with the same idempotency key and gets the same
/// seq, even from a restarted server; the call is queued once.
#[test]
fn retries_with_an_idempotency_key_get_the_same_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = served_logger(dir.path());
    let me = Principal::anonymous();
    let args = r#"(principal "aaaaa-aa", "paid invoice 7")"#;
    let seq = client
        .submit_once("logger", "log", Args::Text(args), me, "invoice-7")
        .unwrap();
    let again = client
        .submit_once("logger", "log", Args::Text(args), me, "invoice-7")
        .unwrap();
    assert_eq!(again, seq);
    assert_eq!(client.health().unwrap().next_seq, seq + 1, "queued once");
    match client.submit_once(
        "logger",
        "log",
        Args::Text(r#"(principal "aaaaa-aa", "x")"#),
        me,
        "invoice-7",
    ) {
        Err(ClientError::Refused {
            status: 409,
            message,
            ..
        }) => {
            assert!(
                message.starts_with(&format!("idempotency key already names seq {seq}")),
                "{message}"
            );
        }
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(wait_done(&client, seq), "done");
    assert!(server.terminate().success());
    let server = Serve::start(dir.path());
    let client = server.client();
    let after_restart = client
        .submit_once("logger", "log", Args::Text(args), me, "invoice-7")
        .unwrap();
    assert_eq!(after_restart, seq);
    assert_eq!(events(&client), ["paid invoice 7"]);
}

/// The address a killed server left in its dir may be another dir's server's by now (the
/// port reused): the CLI checks whose it is before it goes through it.
#[test]
fn a_stale_address_now_serving_another_dir_is_not_used() {
    let (mine, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = Serve::start(other.path());
    install_logger(other.path());
    std::fs::write(mine.path().join("serve.url"), format!("{}\n", server.url)).unwrap();
    let root = cli_ok(mine.path(), &["root"]);
    assert_eq!(root, format!("{}\n", commute::root::Root::empty().to_hex()));
    let out = cli(mine.path(), &["dump", "logger"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "logger is installed in the other dir only"
    );
}

/// A stopped (SIGSTOP) server does not hang the CLI, and a client that never finishes its
/// request does not hold a SIGTERM up past the grace period.
#[test]
fn a_stuck_server_or_client_holds_nobody_up_forever() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path());
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let out = cli(dir.path(), &["root"]);
    assert!(Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not answer"), "{err}");

    use std::io::Write;
    let mut stuck = std::net::TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    stuck
        .write_all(
            b"POST /submit/logger/log HTTP/1.1\r\ncontent-type: text/x-candid\r\ncontent-length: 100\r\n\r\n(pri",
        )
        .unwrap();
    // The server has the request (its health answers after it) and the client is stuck.
    server.client().health().unwrap();
    assert!(server.terminate().success());
    drop(stuck);
}

/// While a stop waits (here for a stuck client), a second SIGTERM exits at once.
#[test]
fn a_second_signal_stops_at_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Serve::start_with(dir.path(), Stdio::piped());
    let mut stuck = std::net::TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    stuck
        .write_all(b"POST /submit/logger/log HTTP/1.1\r\ncontent-type: text/x-candid\r\ncontent-length: 100\r\n\r\n(")
        .unwrap();
    server.client().health().unwrap();
    let pid = server.child.id().to_string();
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("stopping: finishing the round in flight"),
        "{line}"
    );
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(server.child.wait().unwrap().code(), Some(130));
    drop(stuck);
}

#[test]
fn a_second_server_on_the_same_dir_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path());
    let out = cli(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("is in use by another commute process"),
        "{err}"
    );
    assert!(err.contains(&server.url), "names the server: {err}");
    // `tick` has nothing to do while a server runs rounds.
    let out = cli(dir.path(), &["tick"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs rounds as calls arrive"));
}

/// Backpressure: with the round in flight held open, accepted calls pile up to the cap;
/// past it a submit gets 503 with a retry hint, and once the round commits, room returns.
#[test]
fn a_full_queue_answers_503_with_a_retry_hint() {
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let config = Config {
        max_pending: 4,
        threads: 1,
        perturb: Some(std::sync::Arc::new(move |seq| {
            if seq == 1 {
                let _ = entered_tx.send(());
                let _ = release_rx.lock().unwrap().recv();
            }
        })),
        ..Config::default()
    };
    let mut host = Host::temporary_with(config).unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    let server = Server::start(host, "127.0.0.1:0".parse().unwrap(), Signals::Ignore).unwrap();
    let client = Client::new(&server.url());
    let me = Principal::anonymous();
    let log = |i: u32| {
        let args = Log::new(0, i, 3).args();
        client.submit("logger", "log", Args::Text(&args), me)
    };
    assert_eq!(log(0).unwrap(), 1);
    entered.recv().unwrap(); // seq 1 is running, and holds its round open
    for i in 1..4 {
        log(i).unwrap();
    }
    match log(4) {
        Err(e @ ClientError::Refused { .. }) => {
            assert!(e.is_busy(), "{e}");
            let ClientError::Refused {
                message,
                retry_after,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(*retry_after, Some(1));
            assert!(
                message.starts_with("the queue is full: 4 calls pending"),
                "{message}"
            );
        }
        other => panic!("expected 503, got {other:?}"),
    }
    release.send(()).unwrap();
    assert_eq!(wait_done(&client, 4), "done");
    assert_eq!(log(4).unwrap(), 5, "the refused call took no seq");
    assert_eq!(wait_done(&client, 5), "done");
    server.stop().unwrap();
}

/// Candid text `levels` deep: `vec {` around a `1`, as an argument list of the logger's
/// `log` shape.
fn nested_args(levels: usize) -> String {
    // The argument list's parentheses are one level.
    let inner = levels - 1;
    format!(
        "(principal \"2vxsx-fae\", {}1{})",
        "vec {".repeat(inner),
        "}".repeat(inner)
    )
}

#[test]
fn nested_input_past_the_limit_gets_a_400_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, client) = served_logger(dir.path());
    let me = Principal::anonymous();
    let limit = commute_did::MAX_NESTING;
    let refusal = |r: Result<(), ClientError>| match r {
        Err(ClientError::Refused {
            status, message, ..
        }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let names_limit = |m: &str| m.contains(&format!("more than {limit} levels deep"));
    // The issue's body, and one level past the limit, on each endpoint that reads text.
    for args in [nested_args(8001), nested_args(limit + 1)] {
        let args = Args::Text(&args);
        let (s, m) = refusal(client.submit("logger", "log", args, me).map(|_| ()));
        assert!(s == 400 && names_limit(&m), "{s} {m}");
        let (s, m) = refusal(client.query("logger", "count", args, me).map(|_| ()));
        assert!(s == 400 && names_limit(&m), "{s} {m}");
        let (s, m) = refusal(client.call("logger", "log", args, me).map(|_| ()));
        assert!(s == 400 && names_limit(&m), "{s} {m}");
    }
    // At the limit the text parses in full on the handler's stack; it is then the wrong
    // type for `log`, which is said as such.
    let (s, m) = refusal(
        client
            .submit("logger", "log", Args::Text(&nested_args(limit)), me)
            .map(|_| ()),
    );
    assert!(
        s == 400 && !names_limit(&m) && m.contains("does not fit"),
        "{s} {m}"
    );

    // An install's init argument and its `.did`.
    let wasm = std::fs::read(LOGGER.wasm_path).unwrap();
    let did = std::fs::read_to_string(LOGGER.did_path).unwrap();
    let (s, m) = refusal(client.install(
        "deep",
        &wasm,
        Some(("logger.did", &did)),
        Some(&nested_args(limit + 1)),
        None,
    ));
    assert!(s == 400 && names_limit(&m), "{s} {m}");
    let deep_did = format!("type t = {}null;\n{did}", "opt ".repeat(100_000));
    let (s, m) = refusal(client.install("deep", &wasm, Some(("deep.did", &deep_did)), None, None));
    assert!(
        s == 400
            && m.starts_with("deep.did:1:")
            && m.contains(&format!("more than {limit} levels")),
        "{s} {m}"
    );

    // Nothing was queued or installed, and the server still serves.
    let seq = client
        .submit(
            "logger",
            "log",
            Args::Text("(principal \"2vxsx-fae\", \"after\")"),
            me,
        )
        .unwrap();
    assert!(wait_done(&client, seq).contains("done"));
    assert_eq!(seq, 1, "the refused calls took no seq");
    let (s, m) = refusal(
        client
            .submit("deep", "log", Args::Text("()"), me)
            .map(|_| ()),
    );
    assert_eq!((s, m.as_str()), (404, "no canister `deep` is installed"));
}

/// A server that takes connections and never answers (stuck, or stopped with SIGSTOP after
/// its health check passed): every request ends once its timeout passes, with an error that
/// says the server did not answer. Before, a client waited for ever.
#[test]
fn a_server_that_never_answers_times_out_every_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Holds every connection open, reading nothing and answering nothing.
    let (held, connections) = mpsc::channel();
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            if held.send(connection).is_err() {
                return;
            }
        }
    });
    let client = Client::with_timeout(&url, Duration::from_secs(1));
    let started = std::time::Instant::now();
    let me = Principal::anonymous();
    let no_answer = |r: Result<(), ClientError>| match r {
        Err(e @ ClientError::NoAnswer { .. }) => assert!(e.to_string().contains(&url), "{e}"),
        other => panic!("expected no answer, got {other:?}"),
    };
    no_answer(
        client
            .query("logger", "count", Args::Text("()"), me)
            .map(drop),
    );
    no_answer(
        client
            .submit("logger", "log", Args::Text("()"), me)
            .map(drop),
    );
    // A long poll waits its own wait, then the timeout.
    no_answer(client.status(1, Some(Duration::from_secs(1))).map(drop));
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(connections);
}
