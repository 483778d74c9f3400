//! Crate-level tests: the `sys` declarations against the ABI table, and the macros'
//! wrappers end to end against the native host.

use commute_abi::{Mode, ValType, IMPORTS};

use crate::testing::{self, Reply};
use crate::{api, pure_update, query, stable::Counter, update, Principal};

/// The wasm type a Rust type of a `sys` declaration becomes on wasm32.
fn wasm32_type(rust: &str) -> ValType {
    match rust {
        "usize" | "isize" | "i32" | "u32" => ValType::I32,
        "i64" | "u64" => ValType::I64,
        other => panic!("unexpected type {other} in sys"),
    }
}

/// Every row of `commute_abi::IMPORTS` is declared in `sys` with its wasm types, and
/// nothing else is. (The commute-examples tests check the same on compiled wasm.)
#[test]
fn sys_declarations_follow_the_abi_table() {
    let declared: Vec<(String, String, Vec<ValType>, Vec<ValType>)> = crate::sys::DECLARED
        .iter()
        .map(|(module, name, params, result)| {
            (
                module.to_string(),
                name.to_string(),
                params.iter().map(|t| wasm32_type(t)).collect(),
                result.iter().map(|t| wasm32_type(t)).collect(),
            )
        })
        .collect();
    let table: Vec<(String, String, Vec<ValType>, Vec<ValType>)> = IMPORTS
        .iter()
        .map(|i| {
            (
                i.module.to_string(),
                i.name.to_string(),
                i.param_types().collect(),
                i.results.to_vec(),
            )
        })
        .collect();
    assert_eq!(declared, table);
}

static HITS: Counter = Counter::init("hits");

#[pure_update]
fn hit(page: String, n: u32) {
    HITS.entry(&page).add(i64::from(n));
}

#[query(name = "hits")]
fn hits_of(page: String) -> u64 {
    HITS.entry(&page).get() as u64
}

#[query]
fn pair() -> (u8, String) {
    (1, "one".into())
}

#[update]
fn nothing() {}

fn only_ann() -> Result<(), String> {
    if api::msg_caller() == Principal::from_slice(&[0xa]) {
        Ok(())
    } else {
        Err(format!("{} may not call this", api::msg_caller()))
    }
}

#[update(guard = "only_ann")]
fn guarded() -> u8 {
    7
}

#[test]
fn wrappers_decode_call_and_reply() {
    testing::set_arg_data(candid::encode_args(("home", 3u32)).unwrap());
    __commute_pure_update_hit();
    assert_eq!(testing::take_reply(), None, "a pure update never replies");

    testing::set_arg_data(candid::encode_args(("home",)).unwrap());
    __commute_query_hits_of();
    assert_eq!(
        testing::take_reply(),
        Some(Reply::Data(candid::encode_args((3u64,)).unwrap()))
    );

    testing::set_arg_data(candid::encode_args(()).unwrap());
    __commute_query_pair();
    assert_eq!(
        testing::take_reply(),
        Some(Reply::Data(candid::encode_args((1u8, "one")).unwrap()))
    );

    __commute_update_nothing();
    assert_eq!(
        testing::take_reply(),
        Some(Reply::Data(b"DIDL\x00\x00".to_vec())),
        "() replies the empty tuple"
    );
}

#[test]
fn guards_reject() {
    __commute_update_guarded();
    let Some(Reply::Reject(message)) = testing::take_reply() else {
        panic!("expected a reject")
    };
    assert!(message.contains("may not call this"), "{message}");
    testing::set_caller(Principal::from_slice(&[0xa]));
    __commute_update_guarded();
    assert_eq!(
        testing::take_reply(),
        Some(Reply::Data(candid::encode_args((7u8,)).unwrap()))
    );
}

#[test]
#[should_panic(expected = "failed to decode the arguments of `hits`")]
fn bad_arguments_trap_naming_the_method() {
    testing::set_arg_data(candid::encode_args((1u8,)).unwrap());
    __commute_query_hits_of();
}

#[pure_update]
fn peeking() {
    let _ = HITS.get();
}

#[test]
#[should_panic(expected = "commute.counter_get is not allowed in pure_update method `peeking`")]
fn reads_in_pure_updates_panic_natively() {
    peeking();
}

#[query]
fn writing() {
    HITS.add(1);
}

#[test]
#[should_panic(expected = "commute.counter_add is not allowed in query method `writing`")]
fn writes_in_queries_panic_natively() {
    writing();
}

#[pure_update]
fn replying() {
    api::msg_reply(b"DIDL\x00\x00");
}

#[test]
#[should_panic(
    expected = "ic0.msg_reply_data_append is not allowed in pure_update method `replying`"
)]
fn replies_in_pure_updates_panic_natively() {
    replying();
}

#[test]
fn modes_nest_and_restore() {
    testing::with_mode(Mode::Query, "outer", || {
        // A query calling a pure update's Rust function enters the pure mode and leaves it.
        hit("x".into(), 0);
        let _ = HITS.get();
    });
    HITS.add(1); // back outside any mode: everything allowed
    assert_eq!(HITS.get(), 1);
}

#[test]
#[should_panic(expected = "after the call already replied")]
fn replying_twice_panics() {
    api::msg_reply([]);
    api::msg_reply([]);
}

#[test]
fn context_defaults() {
    assert_eq!(api::msg_caller(), Principal::anonymous());
    assert_eq!(
        api::canister_self().to_text(),
        "rrkah-fqaaa-aaaaa-aaaaq-cai"
    );
    assert_eq!(api::time(), 0);
    assert!(api::msg_arg_data().starts_with(b"DIDL"));
}
