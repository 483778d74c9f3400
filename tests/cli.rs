//! The `commute` binary end to end on the logger example, each command a new process, as a
//! canister developer runs it (`docs/cli.md`).

use commute_examples::LOGGER;
use std::path::Path;
use std::process::{Command, Output};

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_commute"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .output()
            .expect("run commute")
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "commute {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail with exit 1 and one line on stderr; that line.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(1), "commute {args:?} should fail");
        assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        err
    }

    fn install_logger(&self) {
        let out = self.ok(&[
            "install",
            "logger",
            "--wasm",
            LOGGER.wasm_path,
            "--did",
            LOGGER.did_path,
        ]);
        assert_eq!(
            out,
            format!(
                "installed logger (id {})\n",
                commute::registry::principal_of("logger")
            )
        );
    }
}

const ALICE: &str = "principal \"2vxsx-fae\"";

#[test]
fn logger_end_to_end_across_processes() {
    let cli = Cli::new();
    cli.install_logger();
    let mut seqs = Vec::new();
    for event in ["signed in", "clicked", "signed out"] {
        let out = cli.ok(&["call", "logger", "log", &format!("({ALICE}, \"{event}\")")]);
        let seq = out.trim().strip_prefix("queued ").expect("queued SEQ");
        seqs.push(seq.parse::<u64>().unwrap());
    }
    assert_eq!(cli.ok(&["status", &seqs[0].to_string()]), "pending\n");

    let out = cli.run(&["tick"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "",
        "rounds ran: no notice"
    );
    let ticked = String::from_utf8(out.stdout).unwrap();
    let rounds: Vec<serde_json::Value> = ticked
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0]["calls"], 3);
    assert_eq!(rounds[0]["trapped"], 0);
    let root = rounds[0]["root"].as_str().unwrap().to_string();
    assert_eq!(root.len(), 64);

    for seq in &seqs {
        assert_eq!(cli.ok(&["status", &seq.to_string()]), "done\n");
    }
    assert_eq!(
        cli.ok(&["call", "logger", "count", &format!("({ALICE})")]),
        "(3 : nat64)\n"
    );
    assert_eq!(
        cli.ok(&["call", "logger", "last_event", &format!("({ALICE})")]),
        "(opt \"signed out\")\n"
    );
    // A new process reads the same root; ticking with nothing pending changes nothing.
    assert_eq!(cli.ok(&["root"]), format!("{root}\n"));
    assert_eq!(cli.ok(&["tick"]), "");
    assert_eq!(cli.ok(&["root"]), format!("{root}\n"));

    let dump: serde_json::Value = serde_json::from_str(&cli.ok(&["dump", "logger"])).unwrap();
    let events = dump["lists"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0], "signed in");
}

#[test]
fn tick_with_nothing_pending_says_so_on_stderr_only() {
    let cli = Cli::new();
    let out = cli.run(&["tick"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "nothing pending\n");
}

/// `dump` shows printable UTF-8 as text and other bytes as `0x` hex, in names, keys and
/// values alike; `--hex` gives every one in hex, on one line.
#[test]
fn dump_shows_text_as_text_and_bytes_as_hex() {
    let cli = Cli::new();
    cli.install_logger();
    // A principal whose bytes are text, one whose bytes are not UTF-8, and an event with a
    // control character (BEL), which reads as bytes.
    let alice = commute::Principal::from_slice(b"alice");
    let binary = commute::Principal::from_slice(&[0xff, 0x01]);
    for (user, event) in [(alice, "signed in"), (binary, "ring\\07")] {
        let arg = format!("(principal \"{}\", \"{event}\")", user.to_text());
        cli.ok(&["call", "logger", "log", &arg]);
    }
    cli.ok(&["tick"]);

    let out = cli.ok(&["dump", "logger"]);
    assert!(out.lines().count() > 1, "pretty-printed: {out}");
    let readable: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        readable,
        serde_json::json!({
            "counters": {"events_per_user": {"alice": "1", "0xff01": "1"}},
            "maps": {"last_event": {"alice": "signed in", "0xff01": "0x72696e6707"}},
            "lists": {"events": ["signed in", "0x72696e6707"]},
        })
    );

    let h = |b: &[u8]| hex::encode(b);
    let out = cli.ok(&["dump", "--hex", "logger"]);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let hex: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        hex,
        serde_json::json!({
            "counters": {h(b"events_per_user"): {h(b"alice"): "1", h(&[0xff, 0x01]): "1"}},
            "maps": {h(b"last_event"): {h(b"alice"): h(b"signed in"), h(&[0xff, 0x01]): h(b"ring\x07")}},
            "lists": {h(b"events"): [h(b"signed in"), h(b"ring\x07")]},
        })
    );
}

#[test]
fn bad_call_input_is_refused_and_nothing_is_queued() {
    let cli = Cli::new();
    cli.install_logger();
    let first = cli.ok(&["call", "logger", "log", &format!("({ALICE}, \"ok\")")]);
    assert_eq!(first, "queued 1\n");
    // (Oversize arguments cannot reach the CLI, whose argv is capped by the OS at 128 KiB;
    // tests/examples.rs checks the cap through the library.)
    let cases: [(&[&str], &str); 5] = [
        (
            &["call", "nobody", "log", "()"],
            "no canister `nobody` is installed",
        ),
        (
            &["call", "logger", "nope", "()"],
            "canister `logger` has no method `nope` (its methods: count, events, events_len, last_event, log)",
        ),
        (
            &["call", "logger", "log", "(42, \"x\")"],
            "argument `user` of `log` does not fit",
        ),
        (&["call", "logger", "log", "(principal"], "not Candid text"),
        (
            &["call", "logger", "log", "()", "--caller", "not-a-principal"],
            "--caller",
        ),
    ];
    for (args, needle) in cases {
        let err = cli.fails(args);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(cli
        .fails(&["status", "2"])
        .contains("no call was accepted as seq 2"));
    let second = cli.ok(&["call", "logger", "log", &format!("({ALICE}, \"ok\")")]);
    assert_eq!(second, "queued 2\n", "refused calls took no seq");
}

#[test]
fn bad_installs_are_refused_and_leave_nothing() {
    let cli = Cli::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let not_wasm = dir.join("ledger.did");
    let err = cli.fails(&[
        "install",
        "x",
        "--wasm",
        not_wasm.to_str().unwrap(),
        "--did",
        LOGGER.did_path,
    ]);
    assert!(err.contains("wasm"), "{err}");
    let err = cli.fails(&[
        "install",
        "Bad Name",
        "--wasm",
        LOGGER.wasm_path,
        "--did",
        LOGGER.did_path,
    ]);
    assert!(err.contains("not a canister name"), "{err}");
    // A .did naming a method the wasm does not export.
    let extra = cli.dir.path().join("extra.did");
    std::fs::write(&extra, "service : { nope : () -> () pure_update }").unwrap();
    let err = cli.fails(&[
        "install",
        "logger",
        "--wasm",
        LOGGER.wasm_path,
        "--did",
        extra.to_str().unwrap(),
    ]);
    assert!(
        err.contains("`nope`") && err.contains("canister_update nope"),
        "{err}"
    );
    // Nothing was installed by the refused attempts.
    assert!(cli
        .fails(&["call", "logger", "count", &format!("({ALICE})")])
        .contains("no canister"));
    let install_logger_with = |flags: &[&str]| {
        let mut args = vec!["install", "logger", "--wasm", LOGGER.wasm_path];
        args.extend_from_slice(flags);
        cli.run(&args)
    };
    // A controller that is not a principal is clap's usage error, naming it.
    let out = install_logger_with(&["--controller", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("'alice'") && first.contains("not a principal"),
        "{err}"
    );
    let out = install_logger_with(&["--controller", "2vxsx-fae", "--no-controllers"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "naming and removing controllers at once"
    );
    // The .did can come from the wasm's candid:service section.
    assert_eq!(
        cli.ok(&[
            "install",
            "logger",
            "--wasm",
            LOGGER.wasm_path,
            "--controller",
            "2vxsx-fae"
        ]),
        format!(
            "installed logger (id {})\n",
            commute::registry::principal_of("logger")
        )
    );
}

/// Files the CLI reads have a size cap: a device that never ends (`/dev/zero`) as a module
/// or a `.did` is refused at the cap, with one line naming it, instead of being read until
/// memory runs out; nothing is installed.
#[test]
fn endless_input_files_are_refused_at_their_cap() {
    let cli = Cli::new();
    let err = cli.fails(&[
        "install",
        "x",
        "--wasm",
        "/dev/zero",
        "--did",
        LOGGER.did_path,
    ]);
    assert!(
        err.contains("/dev/zero: more than 33554432 bytes, the most a module may be"),
        "{err}"
    );
    let err = cli.fails(&[
        "install",
        "x",
        "--wasm",
        LOGGER.wasm_path,
        "--did",
        "/dev/zero",
    ]);
    assert!(err.contains("/dev/zero: more than 8388608 bytes"), "{err}");
    let err = cli.fails(&["did", "check", "/dev/zero"]);
    assert!(err.contains("/dev/zero: more than 8388608 bytes"), "{err}");
    assert!(cli
        .fails(&["call", "x", "log", "()"])
        .contains("no canister"));
}

/// A data dir that cannot be opened (a file, not a directory) is named once, with the
/// cause said once: before, `sled: IO error: Not a directory (os error 20): IO error: Not a
/// directory (os error 20)`, with no path.
#[test]
fn a_data_dir_that_cannot_be_opened_is_named_once() {
    let cli = Cli::new();
    let file = cli.dir.path().join("a-file");
    std::fs::write(&file, b"not a dir").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_commute"))
        .arg("--data-dir")
        .arg(&file)
        .arg("root")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    let expected = format!("cannot open the data dir {}: ", file.display());
    assert!(err.starts_with(&format!("error: {expected}")), "{err}");
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}

#[test]
fn the_examples_written_out_install_as_they_are() {
    let cli = Cli::new();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("examples");
    let listed = cli.ok(&["examples", dir.to_str().unwrap()]);
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert_eq!(std::fs::read(dir.join("logger.wasm")).unwrap(), LOGGER.wasm);
    let (wasm, did) = (dir.join("logger.wasm"), dir.join("logger.did"));
    assert_eq!(
        cli.ok(&[
            "install",
            "logger",
            "--wasm",
            wasm.to_str().unwrap(),
            "--did",
            did.to_str().unwrap()
        ]),
        format!(
            "installed logger (id {})\n",
            commute::registry::principal_of("logger")
        )
    );
}

#[test]
fn a_command_on_a_missing_data_dir_names_it_and_makes_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("nowhere");
    for args in [
        &["call", "logger", "count", "()"][..],
        &["status", "1"],
        &["tick"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_commute"))
            .arg("--data-dir")
            .arg(&missing)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: no data dir ")
                && err.contains("nowhere")
                && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} made the dir");
    }
}

#[test]
fn tick_names_the_calls_that_trapped_and_why() {
    // The `chaos` guest traps after its writes when `b % 5 == 0`.
    let cli = Cli::new();
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("chaos.wasm");
    std::fs::write(
        &wasm,
        wat::parse_str(include_str!("guests/chaos.wat")).unwrap(),
    )
    .unwrap();
    let did = dir.path().join("chaos.did");
    std::fs::write(&did, include_str!("guests/chaos.did")).unwrap();
    cli.ok(&[
        "install",
        "chaos",
        "--wasm",
        wasm.to_str().unwrap(),
        "--did",
        did.to_str().unwrap(),
    ]);
    for b in [1, 5, 2] {
        cli.ok(&["call", "chaos", "hit", &format!("(0, {b})")]);
    }
    let out = cli.run(&["tick"]);
    assert!(out.status.success());
    let round: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(round["trapped"], 1);
    assert_eq!(round["trapped_seqs"], serde_json::json!([2]));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("seq 2 trapped: ") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_canister_id_names_its_canister_where_a_name_does() {
    let cli = Cli::new();
    cli.install_logger();
    let id = cli.ok(&["id", "logger"]);
    assert_eq!(
        id.trim(),
        commute::registry::principal_of("logger").to_text()
    );
    let id = id.trim();
    assert_eq!(
        cli.ok(&["call", id, "log", &format!("({ALICE}, \"by id\")")]),
        "queued 1\n"
    );
    cli.ok(&["tick"]);
    assert_eq!(
        cli.ok(&["call", id, "count", &format!("({ALICE})")]),
        "(1 : nat64)\n"
    );
    assert!(cli.ok(&["dump", id]).contains("by id"));
    let err = cli.fails(&["id", "Not-A-Name"]);
    assert!(err.contains("`Not-A-Name` is not a canister name"), "{err}");
}

/// Output to a reader that is gone (`commute … | head`) ends the command quietly, by
/// SIGPIPE as Unix tools end, never with a panic.
#[test]
fn output_to_a_closed_pipe_ends_the_command_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_commute"))
        .args(["id", "logger"])
        .stdout(writer)
        .output()
        .expect("run commute");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {err}",
        out.status
    );
}
