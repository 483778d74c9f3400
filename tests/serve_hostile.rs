//! `commute serve` against clients that mean harm or stop halfway: installs and dumps need
//! the operator's token, web pages of other origins are refused on every endpoint, and slow,
//! stalled or idle connections are closed by their timeouts while other clients are served.
//! The timeouts are set small here, so each wait is on the server closing a socket.

use commute::submit::Args;
use commute::{Host, Principal};
use commute_examples::LOGGER;
use commute_serve::client::{read_token, Client, ClientError};
use commute_serve::{ServeConfig, Server, Signals, TOKEN_FILE};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a test waits for the server to answer or close; far past every timeout set.
const PATIENCE: Duration = Duration::from_secs(20);

const LOG: &str = r#"(principal "2vxsx-fae", "hello")"#;

/// An in-process server with the logger installed, under `config`.
fn served(config: ServeConfig) -> (Server, Client) {
    let mut host = Host::temporary().unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    let server = Server::start_with(
        host,
        "127.0.0.1:0".parse().unwrap(),
        Signals::Ignore,
        config,
    )
    .unwrap();
    let client = Client::new(&server.url()).with_token(server.token());
    (server, client)
}

/// Submits a `log` and waits until it is done: a normal client, served.
fn log_done(client: &Client) -> u64 {
    let seq = client
        .submit("logger", "log", Args::Text(LOG), Principal::anonymous())
        .unwrap();
    while client.status(seq, Some(PATIENCE)).unwrap().is_pending() {}
    seq
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads one answer: its status and body (by its `Content-Length`).
fn answer(stream: &mut TcpStream) -> (u16, String) {
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an answer: {status:?}"));
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (code, String::from_utf8(body).unwrap())
}

/// Whether the server closed `stream` (end of stream or reset) before [`PATIENCE`]
/// passed; panics if it sent anything instead.
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("the server sent {:?} instead of closing", byte[0] as char),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// A raw request's status and body, on a fresh connection.
fn raw(server: &Server, request: &str) -> (u16, String) {
    let mut stream = connect(server);
    stream.write_all(request.as_bytes()).unwrap();
    answer(&mut stream)
}

#[test]
fn idle_connections_and_unfinished_headers_are_closed() {
    let timeout = Duration::from_millis(200);
    let (server, client) = served(ServeConfig {
        keep_alive_timeout: timeout,
        header_timeout: timeout,
        ..ServeConfig::default()
    });
    let host = server.addr();

    // Kept alive after an answer, then idle.
    let mut kept = connect(&server);
    kept.write_all(format!("GET /health HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    assert_eq!(answer(&mut kept).0, 200);
    let idle_from = Instant::now();
    assert!(
        closed(&mut kept),
        "an idle kept-alive connection stays open"
    );
    assert!(idle_from.elapsed() >= timeout / 2, "closed too soon");

    // Never sends a byte.
    let mut silent = connect(&server);
    assert!(closed(&mut silent), "a silent connection stays open");

    // Headers that never finish.
    let mut unfinished = connect(&server);
    unfinished
        .write_all(format!("GET /health HTTP/1.1\r\nhost: {host}\r\nx-slow: ").as_bytes())
        .unwrap();
    assert!(
        closed(&mut unfinished),
        "unfinished headers hold the connection"
    );

    // A request under way is not cut by them: its body may take longer than both.
    let mut busy = connect(&server);
    busy.write_all(format!("POST /submit/logger/log HTTP/1.1\r\nhost: {host}\r\ncontent-type: text/x-candid\r\ntransfer-encoding: chunked\r\n\r\n").as_bytes())
        .unwrap();
    let started = Instant::now();
    for byte in LOG.bytes() {
        busy.write_all(format!("1\r\n{}\r\n", byte as char).as_bytes())
            .unwrap();
        std::thread::sleep(timeout / 10);
    }
    busy.write_all(b"0\r\n\r\n").unwrap();
    let (status, body) = answer(&mut busy);
    assert!(started.elapsed() > timeout * 2, "{:?}", started.elapsed());
    assert_eq!(status, 202, "{body}");
    assert_eq!(log_done(&client), 2);
}

#[test]
fn a_body_that_stalls_between_chunks_is_cut_off_while_others_are_served() {
    let idle = Duration::from_secs(1);
    let (server, client) = served(ServeConfig {
        body_idle_timeout: idle,
        body_timeout: Duration::from_secs(60),
        ..ServeConfig::default()
    });
    let host = server.addr();
    let head = format!(
        "POST /submit/logger/log HTTP/1.1\r\nhost: {host}\r\ncontent-type: text/x-candid\r\ntransfer-encoding: chunked\r\nexpect: 100-continue\r\n\r\n"
    );

    let mut stalled = connect(&server);
    stalled.write_all(head.as_bytes()).unwrap();
    // The go-ahead comes once the handler reads the body.
    assert_eq!(answer(&mut stalled).0, 100);
    stalled.write_all(b"5\r\n(prin\r\n").unwrap();
    let before = log_done(&client);

    // A body that keeps coming, each piece well within the pause allowed, may take longer
    // than that pause in all.
    let mut steady = connect(&server);
    steady.write_all(head.as_bytes()).unwrap();
    assert_eq!(answer(&mut steady).0, 100);
    let started = Instant::now();
    for byte in LOG.bytes() {
        steady
            .write_all(format!("1\r\n{}\r\n", byte as char).as_bytes())
            .unwrap();
        std::thread::sleep(idle / 20);
    }
    steady.write_all(b"0\r\n\r\n").unwrap();
    let (status, body) = answer(&mut steady);
    assert!(
        started.elapsed() > idle,
        "the steady body took {:?}",
        started.elapsed()
    );
    assert_eq!(status, 202, "{body}");

    let (status, body) = answer(&mut stalled);
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("paused for more than 1 s"), "{body}");
    assert!(closed(&mut stalled), "the stalled connection stays open");

    // Only the normal and the steady call were queued.
    assert_eq!(client.health().unwrap().next_seq, before + 2);
}

/// The issue's attack: bodies that declare (or may have) megabytes and trickle bytes. They
/// hold what they sent of the body budget, so a normal client is still served.
#[test]
fn slow_bodies_hold_only_what_they_sent_of_the_body_budget() {
    let (server, client) = served(ServeConfig::default());
    let host = server.addr();
    // A binary argument may be 2 MiB, so 128 of these reserving their cap would take the
    // 256 MiB budget.
    let slow: Vec<TcpStream> = (0..130)
        .map(|i| {
            let mut stream = connect(&server);
            stream
                .write_all(format!("POST /submit/logger/log HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/candid\r\ntransfer-encoding: chunked\r\nexpect: 100-continue\r\n\r\n").as_bytes())
                .unwrap();
            let (status, body) = answer(&mut stream);
            assert_eq!(status, 100, "slow client {i}: {body}");
            stream.write_all(b"1\r\nD\r\n").unwrap();
            stream
        })
        .collect();
    let seq = log_done(&client);
    assert!(seq >= 1);
    drop(slow);
}

/// A server's token, the file it came from, and what every refusal leaves unchanged.
#[test]
fn installs_and_dumps_need_the_token_and_change_nothing_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path());
    let token_file = dir.path().join(TOKEN_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token is its owner's alone");
    }
    let token = read_token(dir.path()).unwrap();
    assert_eq!(token.len(), 64);
    // The CLI finds the token in the data dir.
    cli_ok(
        dir.path(),
        &[
            "install",
            "logger",
            "--wasm",
            LOGGER.wasm_path,
            "--did",
            LOGGER.did_path,
        ],
    );
    let anyone = Client::new(&server.url);
    let operator = Client::new(&server.url).with_token(&token);
    let seq = anyone
        .submit("logger", "log", Args::Text(LOG), Principal::anonymous())
        .unwrap();
    while anyone.status(seq, Some(PATIENCE)).unwrap().is_pending() {}
    let root = anyone.root().unwrap();
    let commits = anyone.health().unwrap().commits;

    let refused = |r: Result<(), ClientError>| match r {
        Err(ClientError::Refused {
            status, message, ..
        }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let wasm = std::fs::read(LOGGER.wasm_path).unwrap();
    let did = Some(("logger.did", LOGGER.did));
    let wrong = Client::new(&server.url).with_token(&"0".repeat(64));
    for name in ["logger", "other"] {
        let (s, m) = refused(anyone.install(name, &wasm, did, None, None));
        assert_eq!(s, 401, "{m}");
        assert!(m.contains(TOKEN_FILE), "{m}");
        let (s, m) = refused(wrong.install(name, &wasm, did, None, None));
        assert_eq!(s, 403, "{m}");
    }
    let (s, _) = refused(anyone.dump("logger").map(drop));
    assert_eq!(s, 401);
    let (s, _) = refused(wrong.dump("logger").map(drop));
    assert_eq!(s, 403);
    let (s, _) = refused(
        anyone
            .submit("other", "log", Args::Text(LOG), Principal::anonymous())
            .map(drop),
    );
    assert_eq!(s, 404, "`other` was not installed");
    assert_eq!(anyone.root().unwrap(), root);
    assert_eq!(
        anyone.health().unwrap().commits,
        commits,
        "nothing was committed"
    );

    // With the token the same requests go through.
    operator.install("other", &wasm, did, None, None).unwrap();
    assert_eq!(anyone.health().unwrap().commits, commits + 1);
    assert!(operator.dump("logger").unwrap()["lists"].is_object());
    assert_eq!(
        cli_ok(dir.path(), &["dump", "logger"])
            .trim_start()
            .chars()
            .next(),
        Some('{')
    );

    // A restart writes a fresh token: the old one no longer opens anything.
    drop(server);
    let server = Serve::start(dir.path());
    assert_ne!(read_token(dir.path()).unwrap(), token);
    let stale = Client::new(&server.url).with_token(&token);
    assert_eq!(refused(stale.dump("logger").map(drop)).0, 403);
}

#[test]
fn a_foreign_origin_or_host_gets_403_on_every_json_endpoint() {
    let (server, client) = served(ServeConfig::default());
    let host = server.addr().to_string();
    let token = server.token().to_string();
    let endpoints = [
        ("GET", "/health", ""),
        ("POST", "/submit/logger/log", LOG),
        ("POST", "/call/logger/log", LOG),
        ("POST", "/query/logger/count", r#"(principal "2vxsx-fae")"#),
        ("GET", "/status/1", ""),
        ("POST", "/install/other", r#"{"wasm": "00"}"#),
        ("GET", "/root", ""),
        ("GET", "/dump/logger", ""),
        ("GET", "/nowhere", ""),
    ];
    let request = |method: &str, path: &str, body: &str, extra: &str, host: &str| {
        let kind = if path.starts_with("/install") {
            "application/json"
        } else {
            "text/x-candid"
        };
        format!(
            "{method} {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: bearer {token}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n{extra}\r\n{body}",
            body.len()
        )
    };
    for (method, path, body) in endpoints {
        for (extra, at) in [
            ("origin: http://evil.example\r\n", host.as_str()),
            ("origin: null\r\n", host.as_str()),
            ("sec-fetch-site: cross-site\r\n", host.as_str()),
            // DNS rebinding: a page's own name, resolved to this server.
            ("", "evil.example"),
        ] {
            let (status, answer) = raw(&server, &request(method, path, body, extra, at));
            assert_eq!(
                status, 403,
                "{method} {path} with {extra:?} host {at}: {answer}"
            );
            let error: serde_json::Value = serde_json::from_str(&answer).unwrap();
            assert!(
                error["error"].as_str().unwrap().contains("refused")
                    || error["error"]
                        .as_str()
                        .unwrap()
                        .contains("not this server's"),
                "{answer}"
            );
        }
    }
    // The server's own origin passes.
    let own = format!("origin: http://{host}\r\n");
    assert_eq!(
        raw(&server, &request("GET", "/health", "", &own, &host)).0,
        200
    );
    let port = server.addr().port();
    let own = format!("origin: http://localhost:{port}\r\n");
    let at = format!("localhost:{port}");
    assert_eq!(raw(&server, &request("GET", "/root", "", &own, &at)).0, 200);
    // With the token (its scheme's name in any case), a dump from the own origin passes.
    assert_eq!(
        raw(&server, &request("GET", "/dump/logger", "", &own, &at)).0,
        200
    );
    // A write a page may send unasked (a CORS simple request) is refused too.
    let simple = format!(
        "POST /submit/logger/log HTTP/1.1\r\nhost: {host}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{LOG}",
        LOG.len()
    );
    let (status, answer) = raw(&server, &simple);
    assert_eq!(status, 415, "{answer}");
    assert!(answer.contains("text/x-candid"), "{answer}");

    // Nothing was queued or installed.
    let health = client.health().unwrap();
    assert_eq!((health.next_seq, health.commits), (1, 0));
    assert_eq!(log_done(&client), 1);
}

/// Off loopback the server says so; its timeouts are set from the command line.
#[test]
fn serve_warns_off_loopback_and_takes_its_timeouts_from_flags() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_commute"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--keep-alive-timeout",
            "0.2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let mut warning = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut warning)
        .unwrap();
    let server = Serve {
        child,
        url: url.trim().to_string(),
    };
    assert!(
        warning.starts_with("warning: listening on 0.0.0.0:") && warning.contains(TOKEN_FILE),
        "{warning}"
    );
    let port = server.url.rsplit(':').next().unwrap();
    let mut silent = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    silent.set_read_timeout(Some(PATIENCE)).unwrap();
    assert!(
        closed(&mut silent),
        "--keep-alive-timeout 0.2 was not applied"
    );
}

/// `commute serve` as a child process on a free loopback port.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(dir: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_commute"))
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--threads", "2"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start commute serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Serve {
            child,
            url: line.trim().to_string(),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli_ok(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_commute"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "commute {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
