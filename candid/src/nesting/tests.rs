use super::*;
use quickcheck::{quickcheck, Arbitrary, Gen};

/// One level of nesting as Candid text writes it, value or type.
#[derive(Debug, Clone, Copy)]
enum Level {
    Opt,
    VecBrace,
    VecPrefix,
    Record,
    OptRecord,
    Paren,
}

impl Arbitrary for Level {
    fn arbitrary(g: &mut Gen) -> Level {
        *g.choose(&[
            Level::Opt,
            Level::VecBrace,
            Level::VecPrefix,
            Level::Record,
            Level::OptRecord,
            Level::Paren,
        ])
        .unwrap()
    }
}

impl Level {
    /// How many levels the parsers build for it.
    fn depth(self) -> usize {
        match self {
            Level::OptRecord => 2,
            _ => 1,
        }
    }
}

/// `levels` wrapped around `null`, outermost first, with comments and strings that hold
/// braces the count must not see.
fn nest(levels: &[Level]) -> String {
    let mut open = String::new();
    let mut close = String::new();
    for l in levels {
        let (o, c) = match l {
            Level::Opt => ("opt ", ""),
            Level::VecBrace => ("vec { ", " }"),
            Level::VecPrefix => ("vec ", ""),
            Level::Record => ("record { a = \"{(\"; b = ", " }"),
            Level::OptRecord => ("opt record { /* { */ ", " }"),
            Level::Paren => ("(", ")"),
        };
        open.push_str(o);
        close.insert_str(0, c);
    }
    format!("{open}null{close}")
}

/// A text nesting `n` levels of any mix is accepted exactly when `n` is within the limit
/// (invariants A and B), and siblings do not add up.
#[test]
fn prop_accepted_exactly_within_the_limit() {
    fn prop(levels: Vec<Level>, extra: u8) -> bool {
        let mut levels = levels;
        // Around the limit, where an off-by-one would show.
        let want = MAX_NESTING - 3 + usize::from(extra % 7);
        let mut i = 0;
        while levels.iter().map(|l| l.depth()).sum::<usize>() < want {
            levels.push([Level::Opt, Level::VecBrace, Level::Record][i % 3]);
            i += 1;
        }
        while levels.iter().map(|l| l.depth()).sum::<usize>() > want {
            levels.pop();
        }
        let depth: usize = levels.iter().map(|l| l.depth()).sum();
        let one = nest(&levels);
        let two = format!("({one}, {one})");
        let ok = check(&one).is_ok() == (depth <= MAX_NESTING);
        ok && check(&two).is_ok() == (depth < MAX_NESTING)
    }
    quickcheck(prop as fn(Vec<Level>, u8) -> bool);
}

/// Unbalanced or garbage input is never a panic (invariant C).
#[test]
fn prop_never_panics() {
    fn prop(src: String) -> bool {
        let _ = check(&src);
        true
    }
    quickcheck(prop as fn(String) -> bool);
}

#[test]
fn the_error_names_the_limit_and_the_token_past_it() {
    let src = format!("{}null", "opt ".repeat(MAX_NESTING + 5));
    let e = check(&src).unwrap_err();
    assert_eq!(e.offset, 4 * MAX_NESTING);
    assert!(
        e.message.contains(&MAX_NESTING.to_string()),
        "{}",
        e.message
    );
}

#[test]
fn a_long_flat_text_is_not_deep() {
    let src = format!("(vec {{ {} }})", "opt 1; ".repeat(100_000));
    assert!(check(&src).is_ok());
}

/// A `.did` is refused exactly when its top-level definitions' depths, plus one each, sum
/// past the file-wide limit (invariant D), wherever the deep ones stand.
#[test]
fn prop_a_did_is_bounded_by_the_sum_of_its_definitions() {
    fn prop(depths: Vec<u16>, slack: u8) -> bool {
        let mut depths: Vec<usize> = depths.iter().map(|d| usize::from(*d) % 900).collect();
        depths.retain(|d| *d > 0);
        if depths.is_empty() {
            depths.push(1);
        }
        // Repeat the shape until the sum is near the limit, then land on either side.
        let target = MAX_DID_LEVELS - 3 + usize::from(slack % 7);
        let mut defs = Vec::new();
        let mut sum = 0;
        for d in depths.iter().cycle() {
            let d = (*d).min(target.saturating_sub(sum + 1));
            defs.push(d);
            sum += d + 1;
            if sum >= target {
                break;
            }
        }
        let src: String = defs
            .iter()
            .enumerate()
            .map(|(i, d)| format!("type t{i} = {}null;\n", "opt ".repeat(*d)))
            .collect();
        check_did(&src).is_ok() == (sum <= MAX_DID_LEVELS)
    }
    quickcheck::QuickCheck::new()
        .tests(20)
        .quickcheck(prop as fn(Vec<u16>, u8) -> bool);
}
