//! Pointing `candid_parser`'s errors at the user's file.
//!
//! Parse errors come as byte offsets, which lifting kept valid (lift invariant A). Type
//! errors come with no position at all, so this module reads the message and finds the
//! token it is about: the first use of an unbound type name, the second definition of a
//! duplicated one, the `oneway` whose results are not `()`, and so on. When nothing in the
//! message can be found, the error points at the `service` line, never nowhere.

use crate::error::Located;
use crate::lexer::{tokenize, Kind, Token};
use crate::lift::unquote;
use lalrpop_util::ParseError;

/// A `candid_parser` parse error at its offset; the message quotes the user's text.
pub(crate) fn parse_error(src: &str, e: candid_parser::Error) -> Located {
    let found = |l: usize, r: usize| src.get(l..r).unwrap_or("").to_string();
    match e {
        candid_parser::Error::Parse(p) => match p {
            ParseError::InvalidToken { location } => Located::new(location, "invalid token"),
            ParseError::UnrecognizedEof { location, expected } => Located::new(
                location,
                format!("unexpected end of file{}", expecting(&expected)),
            ),
            ParseError::UnrecognizedToken {
                token: (l, _, r),
                expected,
            } => Located::new(
                l,
                format!("unexpected `{}`{}", found(l, r), expecting(&expected)),
            ),
            ParseError::ExtraToken { token: (l, _, r) } => {
                Located::new(l, format!("unexpected `{}`", found(l, r)))
            }
            ParseError::User { error } => Located::new(error.span.start, error.err),
        },
        other => type_error(src, &other.to_string()),
    }
}

/// `, expected X` when the parser's list of expected tokens is short enough to help.
fn expecting(expected: &[String]) -> String {
    match expected {
        [] => String::new(),
        [one] => format!(", expected {}", one.trim_matches('"')),
        few if few.len() <= 4 => {
            let names: Vec<&str> = few.iter().map(|s| s.trim_matches('"')).collect();
            format!(", expected one of {}", names.join(" "))
        }
        _ => String::new(),
    }
}

/// A position for a type error message from `candid_parser`, which has none.
pub(crate) fn type_error(src: &str, message: &str) -> Located {
    let toks: Vec<Token> = tokenize(src)
        .into_iter()
        .filter(|t| !t.is_comment())
        .collect();
    let finder = Finder { src, toks: &toks };
    let at = finder.find(message).unwrap_or_else(|| finder.service());
    Located::new(at, message.to_string())
}

/// The first occurrence of the keyword `word`, for errors about it.
pub(crate) fn word(src: &str, word: &str, message: &str) -> Located {
    let at = tokenize(src)
        .into_iter()
        .find(|t| t.is_word(src, word))
        .map_or(0, |t| t.span.start);
    Located::new(at, message)
}

struct Finder<'a> {
    src: &'a str,
    toks: &'a [Token],
}

impl Finder<'_> {
    fn find(&self, message: &str) -> Option<usize> {
        let after = |prefix: &str| message.strip_prefix(prefix).map(first_word);
        if let Some(name) = after("Unbound type identifier ") {
            return self.type_use(&name);
        }
        if let Some(name) = after("duplicate binding for ") {
            return self.definitions(&name).nth(1);
        }
        if let Some(name) = message.strip_suffix(" has cyclic type definition") {
            return self.definitions(name).next();
        }
        if let Some(name) = after("method ") {
            return self.label(&name);
        }
        if message.starts_with("oneway function has non-unit return type") {
            return self.oneway_with_results();
        }
        if message.starts_with("cannot have more than one mode") {
            return self.second_mode();
        }
        // Otherwise: the first identifier of the message that names something in the file.
        message
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.len() > 1)
            .find_map(|w| self.definitions(w).next().or_else(|| self.type_use(w)))
    }

    fn at(&self, i: usize) -> Option<&Token> {
        self.toks.get(i)
    }

    fn is(&self, i: usize, c: char) -> bool {
        self.at(i).is_some_and(|t| t.is(c))
    }

    fn word(&self, i: usize) -> Option<&str> {
        self.at(i)
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| t.text(self.src))
    }

    /// Offsets of `type NAME =` definitions, in file order.
    fn definitions<'b>(&'b self, name: &'b str) -> impl Iterator<Item = usize> + 'b {
        (1..self.toks.len())
            .filter(move |&i| self.word(i - 1) == Some("type") && self.word(i) == Some(name))
            .map(|i| self.toks[i].span.start)
    }

    /// The first use of `name` as a type: not defined there, not a label or argument name.
    fn type_use(&self, name: &str) -> Option<usize> {
        (0..self.toks.len())
            .find(|&i| {
                let defined_here = i > 0 && self.word(i - 1) == Some("type");
                self.word(i) == Some(name)
                    && !defined_here
                    && !self.is(i + 1, ':')
                    && !self.is_bare_variant_tag(i)
            })
            .map(|i| self.toks[i].span.start)
    }

    /// `variant { A; B }`: `A` is a tag there, not a type.
    fn is_bare_variant_tag(&self, i: usize) -> bool {
        let entry_start = i > 0 && (self.is(i - 1, '{') || self.is(i - 1, ';'));
        let entry_end = self.is(i + 1, ';') || self.is(i + 1, '}');
        if !(entry_start && entry_end) {
            return false;
        }
        let mut depth = 0i32;
        for j in (0..i).rev() {
            if self.is(j, '}') {
                depth += 1;
            } else if self.is(j, '{') {
                if depth == 0 {
                    return j > 0 && self.word(j - 1) == Some("variant");
                }
                depth -= 1;
            }
        }
        false
    }

    /// A method or field label `name :`, quoted or not.
    fn label(&self, name: &str) -> Option<usize> {
        (0..self.toks.len())
            .find(|&i| {
                let t = &self.toks[i];
                let text = t.text(self.src);
                self.is(i + 1, ':')
                    && match t.kind {
                        Kind::Ident => text == name,
                        Kind::Text => unquote(text) == name,
                        _ => false,
                    }
            })
            .map(|i| self.toks[i].span.start)
    }

    /// The first `oneway` that follows a non-empty result tuple.
    fn oneway_with_results(&self) -> Option<usize> {
        (1..self.toks.len())
            .find(|&i| {
                self.word(i) == Some("oneway") && self.is(i - 1, ')') && !self.is(i - 2, '(')
            })
            .map(|i| self.toks[i].span.start)
    }

    /// The second of two adjacent mode words.
    fn second_mode(&self) -> Option<usize> {
        let mode = |i| matches!(self.word(i), Some("query" | "composite_query" | "oneway"));
        (1..self.toks.len())
            .find(|&i| mode(i) && mode(i - 1))
            .map(|i| self.toks[i].span.start)
    }

    /// The last top-level `service` keyword, or the start of the file.
    fn service(&self) -> usize {
        (0..self.toks.len())
            .rev()
            .find(|&i| self.word(i) == Some("service"))
            .map_or(0, |i| self.toks[i].span.start)
    }
}

fn first_word(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .next()
        .unwrap_or("")
        .to_string()
}
