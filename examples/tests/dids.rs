//! The examples' `.did` files, read by commute's own front end (`commute-did`): they parse,
//! declare the modes and keys the canisters are written for, are exported by the wasm, and
//! are what the wasm's `icp:public candid:service` section holds or, for the audit, what
//! `export_candid!()` derives, in the standard form. And the call the audit canister fires
//! at the logger fits the logger's `.did`.

use std::collections::BTreeSet;

use commute_abi::export;
use commute_did::{candid_service_section, Did, Mode};
use commute_examples::{Canister, ABI_PROBE, ALL, ANALYTICS, AUDIT, LOGGER};

fn did(canister: &Canister) -> Did {
    Did::parse(canister.did_path, canister.did)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", canister.name))
}

/// `(method, mode, key positions)` of every method, sorted by name.
fn methods(canister: &Canister) -> Vec<(String, Mode, Vec<usize>)> {
    let did = did(canister);
    let mut methods: Vec<_> = did
        .interface()
        .methods()
        .map(|m| (m.name.clone(), m.mode, m.keys.clone()))
        .collect();
    methods.sort();
    methods
}

fn m(name: &str, mode: Mode, keys: &[usize]) -> (String, Mode, Vec<usize>) {
    (name.to_owned(), mode, keys.to_vec())
}

#[test]
fn modes_and_keys_are_as_designed() {
    use Mode::*;
    assert_eq!(
        methods(&LOGGER),
        [
            m("count", Query, &[]),
            m("events", Query, &[]),
            m("events_len", Query, &[]),
            m("last_event", Query, &[]),
            m("log", PureUpdate, &[0]),
        ]
    );
    assert_eq!(
        methods(&ANALYTICS),
        [
            m("installs", Query, &[]),
            m("total_views", Query, &[]),
            m("view", PureUpdate, &[]),
            m("views", Query, &[]),
            m("work", PureUpdate, &[0]),
            m("work_checksum", Query, &[]),
            m("work_done", Query, &[]),
        ]
    );
    assert_eq!(
        methods(&AUDIT),
        [
            m("note", Query, &[]),
            m("received", Query, &[]),
            m("record", PureUpdate, &[0, 1]),
            m("sent", Query, &[]),
            m("set_note", Update, &[]),
            m("transfers", Query, &[]),
            m("transfers_len", Query, &[]),
        ]
    );
}

#[test]
fn wasm_exports_every_method_and_embeds_the_did() {
    for canister in ALL.into_iter().chain([ABI_PROBE]) {
        let did = did(&canister);
        let wanted: BTreeSet<String> = did
            .interface()
            .methods()
            .map(|method| method.mode.export_name(&method.name))
            .collect();
        // Every method is exported, and every exported entry point is a method (but the
        // query that replies a derived `.did`, which is not one).
        let entry_points: BTreeSet<String> = exports(canister.wasm)
            .into_iter()
            .filter(|name| export::parse(name).is_some_and(|(kind, _)| kind != export::Kind::Init))
            .filter(|name| *name != export::method(commute_abi::Mode::Query, export::CANDID_QUERY))
            .collect();
        assert_eq!(entry_points, wanted, "{}: exports vs .did", canister.name);
        let embedded = candid_service_section(canister.wasm).unwrap();
        if canister.name == "audit" {
            assert_eq!(embedded, None, "the audit derives its .did");
        } else {
            assert_eq!(embedded.as_deref(), Some(canister.did), "{}", canister.name);
        }
    }
}

/// What `export_candid!()` derives is in the standard form: reading it gives it back
/// unchanged (so install stores what the canister derived), with the key by name.
#[test]
fn the_derived_did_is_standard() {
    let derived = audit::__export_service();
    assert_eq!(derived, AUDIT.did);
    let did = Did::parse("audit (derived)", &derived).unwrap();
    assert_eq!(did.standard(), derived);
    assert!(derived.contains(
        "  // @pure_update key(from, to)\n  \"record\" : (from : principal, to : principal, amount : nat64) -> () oneway;\n"
    ));
}

fn exports(wasm: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(reader) = payload.unwrap() {
            names.extend(reader.into_iter().map(|e| e.unwrap().name.to_owned()));
        }
    }
    names
}

/// Runs `audit::record` natively and checks the pure call it fires decodes against the
/// logger's `.did`, with the logger's key being the payer.
#[test]
fn audit_calls_the_logger_with_arguments_that_fit() {
    let from = candid::Principal::from_slice(&[1]);
    let to = candid::Principal::from_slice(&[2]);
    audit::record(from, to, 10);
    let calls = commute_cdk::testing::take_pure_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (call.canister.as_str(), call.method.as_str()),
        ("logger", "log")
    );
    let logger = did(&LOGGER);
    let decoded = logger
        .interface()
        .decode_binary(&call.method, &call.arg)
        .unwrap_or_else(|e| panic!("the audit's call does not fit logger.did: {e}"));
    assert_eq!(decoded.keys, [candid::encode_one(from).unwrap()]);
}
