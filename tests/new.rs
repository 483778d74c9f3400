//! `commute new`: the crate it writes passes its own unit tests, builds to wasm32 as
//! generated, installs with the `.did` it derives from its code (`export_candid!()`), and
//! answers a pure update, an update and a query.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn commute(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_commute"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run commute")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `cargo ARGS` in the crate at `dir`, as a user runs it, but offline and into the
/// examples' target directory: the generated crate has the examples' release profile and
/// wasm stack flag and, given the repository's `Cargo.lock`, their dependency versions,
/// so every dependency is already built there and only the new crate compiles.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let mut cmd =
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
    cmd.current_dir(dir)
        .args(args)
        .arg("--offline")
        .env("CARGO_TARGET_DIR", repo().join("target/wasm-examples"));
    // The outer build's flags (coverage, a wrapper, a host CPU) are not the canister's.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        let outer = [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
        ]
        .contains(&name.as_ref())
            || [
                "CARGO_BUILD_",
                "CARGO_PROFILE_",
                "CARGO_TARGET_",
                "CARGO_LLVM_COV",
            ]
            .iter()
            .any(|p| name.starts_with(p));
        if outer && name != "CARGO_TARGET_DIR" {
            cmd.env_remove(&key);
        }
    }
    cmd.output().expect("run cargo")
}

#[test]
fn a_new_canister_tests_builds_installs_and_answers() {
    // Inside this repository's target directory on purpose: the crate's own `[workspace]`
    // table must keep it out of the repository's workspace above it.
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR")).join("commute-new");
    let krate = parent.join("mycan");
    if krate.exists() {
        std::fs::remove_dir_all(&krate).unwrap();
    }
    std::fs::create_dir_all(&parent).unwrap();

    let out = ok(commute(&parent, &["new", "mycan"]), "commute new");
    let sdk = std::fs::canonicalize(repo().join("guest-sdk")).unwrap();
    assert!(
        out.starts_with(&format!(
            "created mycan/ (commute-cdk at {})\n",
            sdk.display()
        )),
        "{out}"
    );
    let again = commute(&parent, &["new", "mycan"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(again.stderr).unwrap(),
        "error: mycan: already exists\n"
    );

    std::fs::copy(repo().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    // Without debug info: the same test, half the disk (some 170 MB) in the shared target.
    let tested = ok(
        cargo(
            &krate,
            &["test", "--quiet", "--config", "profile.dev.debug=false"],
        ),
        "cargo test",
    );
    assert!(tested.contains("test result: ok. 2 passed"), "{tested}");
    ok(
        cargo(
            &krate,
            &[
                "build",
                "--quiet",
                "--target",
                "wasm32-unknown-unknown",
                "--release",
            ],
        ),
        "cargo build",
    );
    let wasm = repo().join("target/wasm-examples/wasm32-unknown-unknown/release/mycan.wasm");

    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--data-dir", data.path().to_str().unwrap()];
        all.extend_from_slice(args);
        ok(commute(&krate, &all), &format!("commute {args:?}"))
    };
    // No `--did`: install runs the wasm's query for the `.did` it derives, tag and key
    // included.
    assert_eq!(
        run(&["install", "mycan", "--wasm", wasm.to_str().unwrap()]),
        format!(
            "installed mycan (id {})\n",
            commute::registry::principal_of("mycan")
        )
    );
    for (args, queued) in [
        (r#"("alice", 5)"#, 1),
        (r#"("alice", 2)"#, 2),
        (r#"("bob", 1)"#, 3),
    ] {
        assert_eq!(
            run(&["call", "mycan", "add", args]),
            format!("queued {queued}\n")
        );
    }
    let round: serde_json::Value = serde_json::from_str(run(&["tick"]).trim()).unwrap();
    assert_eq!(
        (round["calls"].as_u64(), round["trapped"].as_u64()),
        (Some(3), Some(0))
    );
    for (method, arg, reply) in [
        ("score", "alice", 7),
        ("reset", "alice", 7),
        ("score", "alice", 0),
        ("score", "bob", 1),
    ] {
        let arg = format!("(\"{arg}\")");
        assert_eq!(
            run(&["call", "mycan", method, &arg]),
            format!("({reply} : nat64)\n"),
            "{method}{arg}"
        );
    }
}
