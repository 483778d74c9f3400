use super::*;
use quickcheck::quickcheck;

fn tags(src: &str) -> Vec<(String, Form, Option<Vec<KeyRef>>)> {
    lift(src)
        .unwrap()
        .tags
        .into_iter()
        .map(|t| (t.method, t.form, t.keys.map(|k| k.refs)))
        .collect()
}

#[test]
fn annotation_is_replaced_by_padded_oneway() {
    let src = "service : { f : (a : nat) -> () pure_update key(a); }";
    let lifted = lift(src).unwrap();
    // `pure_update key(a)` is 18 bytes: `oneway` and 12 spaces.
    let expected = format!(
        "service : {{ f : (a : nat) -> () oneway{}; }}",
        " ".repeat(12)
    );
    assert_eq!(lifted.text, expected);
    assert_eq!(lifted.text.len(), src.len());
}

#[test]
fn key_clause_spanning_lines_keeps_its_newlines() {
    let src = "service : {\n f : (a : nat, b : nat) -> () pure_update key(\n a,\n 1);\n}";
    let lifted = lift(src).unwrap();
    assert_eq!(
        lifted.text.match_indices('\n').collect::<Vec<_>>(),
        src.match_indices('\n').collect::<Vec<_>>()
    );
    assert_eq!(
        tags(src)[0].2.as_ref().unwrap(),
        &vec![
            KeyRef::Name("a".into(), src.find("a,").unwrap()),
            KeyRef::Index(1, src.find("1)").unwrap())
        ]
    );
}

#[test]
fn the_word_pure_update_elsewhere_is_a_name() {
    let src = r#"
type pure_update = record { pure_update : nat };
/* pure_update */
service : {
  // a comment that mentions pure_update key(x)
  pure_update : (pure_update : pure_update) -> ();
  "pure_update quoted" : (vec pure_update) -> ();
}"#;
    let lifted = lift(src).unwrap();
    assert_eq!(lifted.text, src);
    assert!(lifted.tags.is_empty());
}

#[test]
fn a_method_named_pure_update_can_be_pure() {
    let src = "service : { pure_update : (pure_update : nat) -> () pure_update key(pure_update) }";
    assert_eq!(
        tags(src),
        vec![(
            "pure_update".into(),
            Form::Annotation,
            Some(vec![KeyRef::Name(
                "pure_update".into(),
                src.rfind("pure_update)").unwrap()
            )])
        )]
    );
}

#[test]
fn quoted_method_names_are_unquoted() {
    let src = r#"service : { "log\u{20}event" : () -> () pure_update }"#;
    assert_eq!(tags(src)[0].0, "log event");
}

#[test]
fn comment_form_is_read_and_left_in_place() {
    let src = "service : {\n  // @pure_update key(0)\n  f : (nat) -> () oneway;\n}";
    let lifted = lift(src).unwrap();
    assert_eq!(lifted.text, src);
    assert_eq!(
        tags(src),
        vec![(
            "f".into(),
            Form::Comment,
            Some(vec![KeyRef::Index(0, src.find("0)").unwrap())])
        )]
    );
}

#[test]
fn service_named_by_a_type_is_the_main_service() {
    let src = "type S = service { f : () -> () pure_update };\nservice : (nat) -> S";
    assert_eq!(tags(src)[0].0, "f");
}

/// Candid lets the last definition drop its `;` (Internet Identity's archive `.did` does):
/// the `service` after it is still the main service, in every form.
#[test]
fn main_service_after_a_definition_without_semicolon() {
    for src in [
        "type A = record {}\nservice : (A) -> { f : () -> () pure_update }",
        "type A = record {}\nservice : { f : () -> () pure_update }",
        "type A = record {}\nservice named : (a : A) -> { f : () -> () pure_update }",
        "type S = service { f : () -> () pure_update };\ntype A = nat\nservice : (A) -> S",
        "type A = record {}\nservice : (A) -> {\n  // @pure_update\n  f : () -> () oneway;\n}",
    ] {
        assert_eq!(tags(src).len(), 1, "{src}");
        assert_eq!(tags(src)[0].0, "f", "{src}");
    }
}

/// A service type among the init arguments is not the main service.
#[test]
fn a_service_type_in_init_arguments_is_not_the_main_service() {
    let src = "type A = nat\nservice : (peer : service { g : () -> () pure_update }) -> {}";
    let err = lift(src).unwrap_err();
    assert!(
        err.message
            .contains("not a method of the canister's service"),
        "{}",
        err.message
    );
}

#[test]
fn both_forms_on_one_method_is_an_error() {
    let src = "service : {\n  // @pure_update\n  f : () -> () pure_update;\n}";
    let err = lift(src).unwrap_err();
    assert_eq!(err.offset, src.find("pure_update;").unwrap());
    assert!(err.message.contains("given twice"), "{}", err.message);
}

#[test]
fn unquote_resolves_escapes() {
    assert_eq!(unquote(r#""a\n\"b\\\u{1F600}\41""#), "a\n\"b\\\u{1F600}A");
}

quickcheck! {
    /// Invariant A: whatever the input, a successful lift keeps length and newlines.
    fn prop_lift_keeps_offsets(words: Vec<u8>) -> bool {
        const PIECES: [&str; 14] = ["service", ":", "{", "}", "(", ")", "->", ";", "f", "nat",
            "pure_update", "key", "// @pure_update\n", "\n"];
        let src: String = words.iter().map(|w| PIECES[*w as usize % PIECES.len()]).collect::<Vec<_>>().join(" ");
        match lift(&src) {
            Ok(l) => l.text.len() == src.len()
                && l.text.match_indices('\n').eq(src.match_indices('\n')),
            Err(_) => true,
        }
    }
}
