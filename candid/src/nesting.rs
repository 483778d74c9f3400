//! How deeply a `.did` type or a Candid text value may nest, checked before any parser
//! sees the text.
//!
//! `candid_parser`, its type checker, the value annotator and the encoder all recurse once
//! per level, so a 48 KB `vec { vec { … } }` would otherwise overflow whatever stack the
//! parsing thread happens to have and abort the whole process. Counting levels on the flat
//! token stream is linear and uses no recursion, so it is safe on any input.
//!
//! Invariants:
//! - (A) the count is never below the nesting of what the parsers build: every `{` and `(`
//!   opens a level, and so does every `opt` or `vec` that prefixes a type or value without
//!   a brace of its own (`opt opt null`, `vec vec nat`). `vec {` counts once.
//! - (B) text past [`MAX_NESTING`] is refused at the token that passes it, with its byte
//!   offset, and the limit is named in the message.
//! - (C) it never panics on unbalanced input: a stray `}` is the parser's to report.
//! - (D) a `.did`'s definitions together nest at most [`MAX_DID_LEVELS`]: a named type
//!   nests the one it names (`type a = opt b; type b = opt c; …`), and the type checker
//!   recurses along such a chain, so the sum over all top-level definitions of their own
//!   depth, plus one, bounds the deepest chain whatever the references.

use crate::error::Located;
use crate::lexer::{tokenize, Kind};

/// The deepest nesting a `.did` type or a Candid text argument may have. The IC sets no
/// number of its own for text; this one is far above what real interfaces use and far
/// below what [`PARSER_STACK_BYTES`] can hold.
pub const MAX_NESTING: usize = 1000;

/// How many levels a whole `.did` may nest through its named types (invariant D): some
/// 5,000 definitions of a typical depth, more than the largest interfaces on the IC.
pub const MAX_DID_LEVELS: usize = 20_000;

/// The stack a thread must have to parse, type and encode input at these limits. It is
/// only reserved, not used, until input that deep arrives. `candid/tests/nesting.rs`
/// parses at each limit, unoptimized, on a thread of exactly this size.
pub const PARSER_STACK_BYTES: usize = 64 << 20;

/// Refuses a Candid text value nested deeper than [`MAX_NESTING`] (invariant B).
pub(crate) fn check(src: &str) -> Result<(), Located> {
    scan(src).map(|_| ())
}

/// Refuses a `.did` nested deeper than [`MAX_NESTING`] in one place or
/// [`MAX_DID_LEVELS`] in all (invariants B and D).
pub(crate) fn check_did(src: &str) -> Result<(), Located> {
    let mut total = 0usize;
    for (at, depth) in scan(src)? {
        total += depth + 1;
        if total > MAX_DID_LEVELS {
            return Err(Located::new(
                at,
                format!(
                    "the type definitions together nest more than {MAX_DID_LEVELS} levels (the limit)"
                ),
            ));
        }
    }
    Ok(())
}

/// Each top-level statement (up to a `;` outside any brace): where it starts and how
/// deeply it nests.
fn scan(src: &str) -> Result<Vec<(usize, usize)>, Located> {
    let tokens = tokenize(src);
    let mut statements = Vec::new();
    let mut statement: Option<(usize, usize)> = None;
    // The depth at each open brace or paren; `run` counts the brace-less `opt`/`vec`
    // prefixes since the last token that ended a value.
    let mut open: Vec<usize> = Vec::new();
    let mut run = 0usize;
    let mut prefix_vec = false;
    for t in tokens.iter().filter(|t| !t.is_comment()) {
        let base = open.last().copied().unwrap_or(0);
        let depth = match t.kind {
            Kind::Punct('{') | Kind::Punct('(') => {
                // `vec {` is one level, not two (invariant A).
                let prefixes = run - usize::from(prefix_vec && t.is('{'));
                open.push(base + prefixes + 1);
                run = 0;
                base + prefixes + 1
            }
            Kind::Punct('}') | Kind::Punct(')') => {
                open.pop();
                run = 0;
                0
            }
            Kind::Ident if matches!(t.text(src), "opt" | "vec") => {
                run += 1;
                base + run
            }
            // These name a constructor whose brace follows: they end no value.
            Kind::Ident if matches!(t.text(src), "record" | "variant" | "func" | "service") => {
                base + run
            }
            _ => {
                run = 0;
                0
            }
        };
        prefix_vec = t.is_word(src, "vec");
        let (_, deepest) = statement.get_or_insert((t.span.start, 0));
        *deepest = (*deepest).max(depth);
        if open.is_empty() && t.is(';') {
            statements.extend(statement.take());
        }
        if depth > MAX_NESTING {
            return Err(Located::new(
                t.span.start,
                format!("nested more than {MAX_NESTING} levels deep (the limit)"),
            ));
        }
    }
    statements.extend(statement);
    Ok(statements)
}

#[cfg(test)]
#[path = "nesting/tests.rs"]
mod tests;
