//! Fuzzes the `.did` front end: any input is an error or an accept, never a panic; and an
//! accepted file's standard form is stock Candid and a fixed point.
#![no_main]

use commute_did::Did;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(did) = Did::parse("fuzz.did", src) else {
        return;
    };
    let out = did.standard();
    let prog: candid_parser::IDLProg = out.parse().expect("stock parser accepts the output");
    candid_parser::check_prog(&mut candid_parser::candid::TypeEnv::new(), &prog)
        .expect("stock type checker accepts the output");
    let again = Did::parse("out.did", out).expect("the output is accepted again");
    assert_eq!(again.standard(), out, "did check is a fixed point");
});
