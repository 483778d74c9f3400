//! `commute did check` through the binary, as a canister developer runs it.

use std::path::Path;
use std::process::{Command, Output};

fn commute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_commute"))
        .args(args)
        .output()
        .expect("run commute")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn ledger_prints_standard_candid_that_candid_parser_accepts_unchanged() {
    let out = commute(&["did", "check", &fixture("ledger.did")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let text = String::from_utf8(out.stdout).unwrap();
    let prog: candid_parser::IDLProg = text.parse().expect("stock parser accepts the output");
    let mut env = candid_parser::candid::TypeEnv::new();
    candid_parser::check_prog(&mut env, &prog).expect("and type-checks it");
    assert!(text.contains("  // @pure_update key(from, to)\n  record_transfer : ("));
    assert!(!text.contains("pure_update key") || !text.contains(") pure_update"));

    // Checking the output again prints it unchanged.
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("standard.did");
    std::fs::write(&again, &text).unwrap();
    let out2 = commute(&["did", "check", again.to_str().unwrap()]);
    assert!(out2.status.success());
    assert_eq!(String::from_utf8(out2.stdout).unwrap(), text);
}

#[test]
fn an_invalid_did_is_one_error_line_with_position_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.did");
    std::fs::write(
        &file,
        "service : {\n  log : (user : principal) -> () pure_update key(usr);\n}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = commute(&["did", "check", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!("error: {path}:2:50: unknown key argument `usr` of method `log`\n")
    );
}

#[test]
fn a_missing_file_is_a_one_line_error() {
    let out = commute(&["did", "check", "/nonexistent/x.did"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: /nonexistent/x.did: cannot read"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

#[test]
fn usage_errors_exit_2() {
    let out = commute(&["did", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
