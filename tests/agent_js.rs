//! `commute serve`'s IC interface driven by the unchanged `@dfinity/agent` from npm
//! (`tests/agent_js.mjs`, with `tests/package.json` and its lockfile): Ed25519, secp256k1,
//! P-256, delegated and anonymous senders through `Actor.createActor`, default settings,
//! and a forged signature refused. Needs Node 20 and `npm ci --prefix tests` first (the
//! README's test command and `.ci/run` do it).

use commute::registry::principal_of;
use commute::Host;
use commute_examples::LOGGER;
use commute_serve::{Server, Signals};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn agent_js_calls_as_every_kind_of_sender_and_a_forgery_is_refused() {
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    assert!(
        tests.join("node_modules/@dfinity/agent").is_dir(),
        "run `npm ci --prefix tests` first: this test drives the unchanged @dfinity/agent"
    );
    let mut host = Host::temporary().unwrap();
    host.install("logger", LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    let wasm = wat::parse_file(tests.join("guests/whoami.wat")).unwrap();
    let did = std::fs::read_to_string(tests.join("guests/whoami.did")).unwrap();
    host.install("whoami", &wasm, Some(("whoami.did", &did)), None)
        .unwrap();
    let server = Server::start(host, "127.0.0.1:0".parse().unwrap(), Signals::Ignore).unwrap();
    let out = Command::new("node")
        .current_dir(&tests)
        .arg("agent_js.mjs")
        .arg(server.url())
        .arg(principal_of("whoami").to_text())
        .arg(principal_of("logger").to_text())
        .output()
        .expect("run node (Node 20)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "node failed:\n{stdout}\n{stderr}");
    for line in [
        "ok ed25519",
        "ok secp256k1",
        "ok p256",
        "ok delegation",
        "ok anonymous",
        "ok forged signature refused",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
    server.stop().unwrap();
}
