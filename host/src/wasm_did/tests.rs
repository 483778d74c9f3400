//! Installs given no `.did`, of modules whose `.did` query is missing or misbehaves: each
//! is refused with one line naming what is wrong, and nothing is installed.

use crate::Host;

/// A module whose `.did` query runs `body`, with `(nat8 1)` in Candid at 0 and `(did)`
/// at 16.
fn module(did: &str, body: &str) -> Vec<u8> {
    let mut arg = b"DIDL\x00\x01\x71".to_vec();
    arg.push(did.len() as u8);
    arg.extend_from_slice(did.as_bytes());
    let escaped: String = arg.iter().map(|b| format!("\\{b:02x}")).collect();
    wat::parse_str(format!(
        r#"(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (data (i32.const 0) "DIDL\00\01\7b\01")
  (data (i32.const 16) "{escaped}")
  (func (export "canister_query f") (call $reply))
  (func (export "canister_query __get_candid_interface_tmp_hack") {body}))"#
    ))
    .unwrap()
}

/// A `.did` of 32 bytes: 40 in Candid.
const DID: &str = "service : { f : () -> () query }";

fn refused(wasm: &[u8]) -> String {
    let mut host = Host::temporary().unwrap();
    let err = host.install("x", wasm, None, None).unwrap_err().to_string();
    assert!(host.registry().get("x").is_none(), "{err}");
    assert!(!err.contains('\n'), "{err}");
    err
}

#[test]
fn a_query_replying_a_did_installs_it() {
    let wasm = module(
        DID,
        "(call $append (i32.const 16) (i32.const 40)) (call $reply)",
    );
    let mut host = Host::temporary().unwrap();
    host.install("x", &wasm, None, None).unwrap();
    let x = host.registry().get("x").unwrap();
    assert!(x.interface.with(|i| i.method("f").is_some()));
}

#[test]
fn no_section_and_no_query_is_refused_naming_both() {
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let err = refused(&wasm);
    assert!(
        err.contains("no .did given")
            && err.contains("icp:public candid:service")
            && err.contains("`__get_candid_interface_tmp_hack` query"),
        "{err}"
    );
}

#[test]
fn a_query_that_traps_replies_no_text_or_no_did_is_refused() {
    let err = refused(&module(DID, "unreachable"));
    assert!(
        err.contains("`__get_candid_interface_tmp_hack` query trapped"),
        "{err}"
    );
    let reply = |len: u32| format!("(call $append (i32.const 16) (i32.const {len})) (call $reply)");
    let err = refused(&module(
        DID,
        "(call $append (i32.const 0) (i32.const 8)) (call $reply)",
    ));
    assert!(err.contains("did not reply one text"), "{err}");
    let err = refused(&module(DID, &reply(20)));
    assert!(err.contains("did not reply one text"), "{err}");
    let bad = "service : { f : () -> () nopes }";
    let err = refused(&module(bad, &reply(40)));
    assert!(
        err.starts_with("x.wasm (__get_candid_interface_tmp_hack):1:"),
        "{err}"
    );
}
