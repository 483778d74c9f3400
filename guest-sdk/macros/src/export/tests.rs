use super::*;

fn expand_str(mode: Mode, attr: &str, item: &str) -> Result<String, String> {
    expand(mode, attr.parse().unwrap(), item.parse().unwrap())
        .map(|t| t.to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn export_names() {
    let out = expand_str(Mode::Query, "", "fn count(u: u64) -> u64 { u }").unwrap();
    assert!(out.contains("\"canister_query count\""), "{out}");
    let out = expand_str(Mode::PureUpdate, "name = \"log_event\"", "fn log() {}").unwrap();
    assert!(out.contains("\"canister_update log_event\""), "{out}");
    assert!(!out.contains("reply"), "a pure update never replies: {out}");
    let out = expand_str(Mode::Init, "", "fn init() {}").unwrap();
    assert!(out.contains("\"canister_init\""), "{out}");
}

#[test]
fn update_returning_unit_replies_empty_tuple() {
    let out = expand_str(Mode::Update, "", "fn set(x: u8) {}").unwrap();
    assert!(out.contains("reply (() ,"), "{out}");
}

#[test]
fn refusals() {
    let err = expand_str(Mode::PureUpdate, "", "fn f() -> u8 { 1 }").unwrap_err();
    assert!(err.contains("must return ()"), "{err}");
    let err = expand_str(Mode::Query, "", "async fn f() {}").unwrap_err();
    assert!(err.contains("cannot be async"), "{err}");
    let err = expand_str(Mode::Query, "", "fn f<T>() {}").unwrap_err();
    assert!(err.contains("generic"), "{err}");
    let err = expand_str(Mode::Init, "name = \"x\"", "fn f() {}").unwrap_err();
    assert!(err.contains("cannot have a name"), "{err}");
    let err = expand_str(Mode::Query, "hidden = \"x\"", "fn f() {}").unwrap_err();
    assert!(err.contains("unknown option `hidden`"), "{err}");
    let err = expand_str(Mode::Query, "name = 3", "fn f() {}").unwrap_err();
    assert!(err.contains("string literal"), "{err}");
}

#[test]
fn keys_name_parameters() {
    let item = "fn log(user: Principal, _event: String) {}";
    expand_str(Mode::PureUpdate, "key = \"user\"", item).unwrap();
    let err = expand_str(Mode::PureUpdate, "key = \"usr\"", item).unwrap_err();
    assert!(
        err.contains("key `usr` is not a parameter of `log` (its parameters: user, _event)"),
        "{err}"
    );
    let err = expand_str(Mode::PureUpdate, "key = \"user, user\"", item).unwrap_err();
    assert!(err.contains("key `user` is given twice"), "{err}");
    let err = expand_str(Mode::PureUpdate, "key = \"a b\"", item).unwrap_err();
    assert!(err.contains("`a b` is not a parameter name"), "{err}");
    let err = expand_str(
        Mode::Query,
        "key = \"user\"",
        "fn f(user: u8) -> u8 { user }",
    )
    .unwrap_err();
    assert!(err.contains("#[query] cannot have a key"), "{err}");
}

#[test]
fn did_names_drop_leading_underscores_unless_two_would_clash() {
    let names =
        |p: &[Option<&str>]| did_names(&p.iter().map(|n| n.map(String::from)).collect::<Vec<_>>());
    assert_eq!(
        names(&[Some("user"), Some("_event"), None]),
        [Some("user".into()), Some("event".into()), None]
    );
    assert_eq!(
        names(&[Some("event"), Some("_event"), Some("__")]),
        [
            Some("event".into()),
            Some("_event".into()),
            Some("__".into())
        ]
    );
    assert_eq!(
        key_positions(
            &[
                ("to".into(), Span::call_site()),
                ("from".into(), Span::call_site())
            ],
            &[Some("from".into()), Some("to".into())],
            "record"
        )
        .unwrap(),
        [1, 0]
    );
}
