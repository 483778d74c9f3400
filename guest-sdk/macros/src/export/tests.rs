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
