//! A forgiving Candid tokenizer that keeps byte spans.
//!
//! `candid_parser` owns the real grammar; this lexer exists only so the front end can find
//! the `pure_update` extension (and later point type errors at a line) without being fooled
//! by comments or quoted names. It mirrors the candid lexer on the three things that matter
//! for that: line comments, *nested* block comments, and string literals with `\"` escapes.
//!
//! Invariants:
//! - (A) it never panics and always terminates, whatever the input: every loop step
//!   consumes at least one character, and all slicing happens on char boundaries.
//! - (B) spans are byte ranges into the original text and never overlap.
//! - (C) an unterminated string or block comment swallows the rest of the input as one
//!   token; reporting it is left to `candid_parser`, which names it precisely.

use std::ops::Range;

/// What kind of token a [`Token`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `[A-Za-z_][A-Za-z0-9_]*`, keywords included.
    Ident,
    /// A quoted string, quotes included in the span.
    Text,
    /// A run of digits (with `_`), optionally hex; enough for key positions.
    Number,
    /// `// ...` up to (not including) the newline.
    LineComment,
    /// `/* ... */`, nested.
    BlockComment,
    /// `->`.
    Arrow,
    /// Any other single character: `( ) { } ; , : =` and whatever candid may reject.
    Punct(char),
}

/// One token and where it stands in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) span: Range<usize>,
}

impl Token {
    /// The token's text in `src`.
    pub(crate) fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.span.clone()]
    }

    /// Whether this is a comment (line or block).
    pub(crate) fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }

    /// Whether this is the punctuation `c`.
    pub(crate) fn is(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    /// Whether this is the identifier (or keyword) `word`.
    pub(crate) fn is_word(&self, src: &str, word: &str) -> bool {
        self.kind == Kind::Ident && self.text(src) == word
    }
}

/// Splits `src` into tokens, comments included, whitespace dropped.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                Kind::LineComment
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                Kind::BlockComment
            }
            b'"' => {
                i = skip_string(bytes, i);
                Kind::Text
            }
            b'-' if bytes.get(i + 1) == Some(&b'>') => {
                i += 2;
                Kind::Arrow
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Kind::Ident
            }
            b if b.is_ascii_digit() => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Kind::Number
            }
            _ => {
                // One whole character, so spans stay on char boundaries (invariant A).
                let c = src[i..].chars().next().unwrap_or('\u{fffd}');
                i += c.len_utf8().max(1);
                Kind::Punct(c)
            }
        };
        out.push(Token {
            kind,
            span: start..i,
        });
    }
    out
}

/// Returns the index just past the block comment that starts at `i` (nested, like candid's).
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Returns the index just past the string literal that starts at `i`.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    // An escape right before the end may step past it; clamp (invariant A).
    bytes.len()
}

#[cfg(test)]
mod tests;
