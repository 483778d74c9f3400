use super::*;
use crate::Principal;

/// A transfer.
///
/// Not in the `.did`: only the first paragraph is.
#[derive(CandidType)]
#[allow(dead_code)]
struct Transfer {
    /// The payer.
    from: Principal,
    amount: u64,
}

/// A service with a keyed pure update, an update, a query and a named type. (`record`'s
/// doc is dropped: a quoted name keeps no comment when read back.)
fn service() -> Service {
    let mut s = Service::new();
    let args = vec![
        (Some("from"), s.ty::<Principal>()),
        (Some("to"), s.ty::<Principal>()),
        (Some("amount"), s.ty::<u64>()),
    ];
    s.method(
        "record",
        Mode::PureUpdate,
        args,
        vec![],
        &[0, 1],
        &["Records a transfer."],
    );
    let args = vec![(Some("note"), s.ty::<String>())];
    let rets = vec![s.ty::<Option<String>>()];
    s.method("set_note", Mode::Update, args, rets, &[], &[]);
    let args = vec![(Some("offset"), s.ty::<u64>())];
    let rets = vec![s.ty::<Vec<Transfer>>()];
    s.method("transfers", Mode::Query, args, rets, &[], &[]);
    s
}

#[test]
fn a_service_prints_in_the_standard_form() {
    assert_eq!(
        service().finish(),
        r#"// A transfer.
type Transfer = record {
  // The payer.
  from : principal;
  amount : nat64;
};
service : {
  // @pure_update key(from, to)
  "record" : (from : principal, to : principal, amount : nat64) -> () oneway;
  set_note : (note : text) -> (opt text);
  transfers : (offset : nat64) -> (vec Transfer) query;
}
"#
    );
}

#[test]
fn keys_without_a_plain_name_go_by_position_and_init_makes_a_class() {
    let mut s = Service::new();
    let init = vec![(None, s.ty::<u8>())];
    s.init(init);
    let args = vec![(Some("type"), s.ty::<u8>()), (None, s.ty::<u8>())];
    s.method(
        "f",
        Mode::PureUpdate,
        args,
        vec![],
        &[1, 0],
        &["@pure_update key(x)"],
    );
    assert_eq!(
        s.finish(),
        "service : (nat8) -> {\n  // @pure_update key(1, 0)\n  f : (\"type\" : nat8, nat8) -> () oneway;\n}\n"
    );
}
