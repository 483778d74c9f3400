//! `commute did check` and `commute did extract` through the binary, as a canister
//! developer runs them.

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
        .join("../../tests/fixtures")
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

    check_is_stable(&text);
}

/// Checking `text`, an output of `did check`, again prints it unchanged.
fn check_is_stable(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("standard.did");
    std::fs::write(&again, text).unwrap();
    let out = commute(&["did", "check", again.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
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

/// The service of a `.did` as stock `candid_parser` reads it: the init arguments and each
/// method's function type, by name.
fn stock_service(
    text: &str,
) -> (
    Vec<candid::types::Type>,
    Vec<(String, candid::types::Function)>,
) {
    let prog: candid_parser::IDLProg = text.parse().expect("stock parser accepts it");
    let mut env = candid::TypeEnv::new();
    let actor = candid_parser::check_prog(&mut env, &prog)
        .expect("and type-checks it")
        .expect("it has a service");
    let (init, service) = match actor.as_ref() {
        candid::types::TypeInner::Class(init, service) => (init.clone(), service.clone()),
        _ => (Vec::new(), actor.clone()),
    };
    let methods = env
        .as_service(&service)
        .unwrap()
        .iter()
        .map(|(name, ty)| (name.clone(), env.as_func(ty).unwrap().clone()))
        .collect();
    (init, methods)
}

/// `commute did check` of a public interface prints a file that stock `candid_parser`
/// reads with the same init arguments and the same methods as the published file, the
/// pure methods (`pure`) turned `oneway` and nothing else changed; checking it again
/// prints it unchanged.
fn public_interface_round_trips(fixture_name: &str, published: &str, pure: &[&str]) {
    let out = commute(&["did", "check", &fixture(fixture_name)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (init, methods) = stock_service(&text);
    let (published_init, published_methods) = stock_service(published);
    assert_eq!(init, published_init);
    assert!(!init.is_empty(), "a class service keeps its init arguments");
    assert_eq!(
        methods.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        published_methods.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for ((name, func), (_, mut published)) in methods.into_iter().zip(published_methods) {
        if pure.contains(&name.as_str()) {
            assert!(published.modes.is_empty(), "{name} was a plain update");
            published.modes = vec![candid::types::FuncMode::Oneway];
            assert!(text.contains(&format!("// @pure_update key(0)\n  {name} : (")));
        }
        assert_eq!(func, published, "method {name}");
    }

    check_is_stable(&text);
}

#[test]
fn ii_archive_with_a_pure_update_passes_and_stock_candid_reads_the_same_methods() {
    let tagged = std::fs::read_to_string(fixture("ii_archive.did")).unwrap();
    let tag = "write_entry : (Anchor, Timestamp, blob) -> () pure_update key(0);";
    assert_eq!(tagged.matches(tag).count(), 1);
    // The file as Internet Identity publishes it.
    let published = tagged.replace(tag, "write_entry : (Anchor, Timestamp, blob) -> ();");
    public_interface_round_trips("ii_archive.did", &published, &["write_entry"]);
}

#[test]
fn icrc1_ledger_passes_and_stock_candid_reads_the_same_methods() {
    let published = std::fs::read_to_string(fixture("icrc1_ledger.did")).unwrap();
    public_interface_round_trips("icrc1_ledger.did", &published, &[]);
}

/// `did extract` prints the `.did` a wasm carries: the one the audit derives
/// (`export_candid!()`), the logger's embedded one in the standard form; a file that is no
/// wasm is refused naming it.
#[test]
fn extract_prints_the_did_a_wasm_derives_or_embeds() {
    use commute_examples::{AUDIT, LOGGER};
    let out = commute(&["did", "extract", AUDIT.wasm_path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), AUDIT.did);
    let out = commute(&["did", "extract", LOGGER.wasm_path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let standard = commute_did::Did::parse("logger.did", LOGGER.did).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), standard.standard());
    let out = commute(&["did", "extract", LOGGER.did_path]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&format!("error: {}: not a wasm module", LOGGER.did_path)),
        "{err}"
    );
}
