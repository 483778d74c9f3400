use super::*;
use quickcheck::quickcheck;

fn kinds(src: &str) -> Vec<(Kind, &str)> {
    tokenize(src)
        .iter()
        .map(|t| (t.kind, t.text(src)))
        .collect()
}

#[test]
fn comments_strings_and_words_are_single_tokens() {
    let src = r#"a /* x /* nested */ pure_update */ "q\"pure_update" // pure_update
b->c"#;
    assert_eq!(
        kinds(src),
        vec![
            (Kind::Ident, "a"),
            (Kind::BlockComment, "/* x /* nested */ pure_update */"),
            (Kind::Text, r#""q\"pure_update""#),
            (Kind::LineComment, "// pure_update"),
            (Kind::Ident, "b"),
            (Kind::Arrow, "->"),
            (Kind::Ident, "c"),
        ]
    );
}

#[test]
fn unterminated_string_and_comment_swallow_the_rest() {
    assert_eq!(
        kinds(r#"a "open"#),
        vec![(Kind::Ident, "a"), (Kind::Text, r#""open"#)]
    );
    assert_eq!(
        kinds("/* open /* */"),
        vec![(Kind::BlockComment, "/* open /* */")]
    );
    assert_eq!(kinds(r#""\"#), vec![(Kind::Text, r#""\"#)]);
}

#[test]
fn non_ascii_punctuation_keeps_char_boundaries() {
    assert_eq!(
        kinds("é(→"),
        vec![
            (Kind::Punct('é'), "é"),
            (Kind::Punct('('), "("),
            (Kind::Punct('→'), "→")
        ]
    );
}

quickcheck! {
    /// Invariant A and B: for any input, tokens are in order, disjoint, on char boundaries.
    fn prop_spans_ordered_and_on_boundaries(src: String) -> bool {
        let toks = tokenize(&src);
        toks.windows(2).all(|w| w[0].span.end <= w[1].span.start)
            && toks.iter().all(|t| {
                t.span.start < t.span.end
                    && src.is_char_boundary(t.span.start)
                    && src.is_char_boundary(t.span.end)
            })
    }
}
