//! Lifting the `pure_update` extension out of a `.did` file, so that the rest is plain
//! Candid for the unmodified `candid_parser`.
//!
//! Two forms are read (`docs/did.md`):
//!
//! ```text
//! log : (user : principal, event : text) -> () pure_update key(user);   // annotation form
//!
//! // @pure_update key(user)                                              // comment form,
//! log : (user : principal, event : text) -> () oneway;                   // what `did check` prints
//! ```
//!
//! Invariants:
//! - (A) The lifted text has the same length as the source and a newline exactly where the
//!   source has one: the annotation form's `pure_update` becomes `oneway` padded with
//!   spaces, its `key(...)` becomes spaces. Every byte offset `candid_parser` reports therefore
//!   points into the user's file unchanged.
//! - (B) A `pure_update` token is a tag only in annotation position: right after the `)` that
//!   closes a method's results, or after another annotation. Anywhere else (a method, field,
//!   type or argument named `pure_update`, a quoted name, a comment) it is just a name, and
//!   `candid_parser` sees it untouched.
//! - (C) Every tag returned belongs to a method of the canister's main service, whose
//!   results are `()`, and that carries no other mode; anything else is an error here.
//!   Key *names* are resolved later, against the parsed argument list.

use crate::error::Located;
use crate::lexer::{tokenize, Kind, Token};

/// Which spelling a tag was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `-> () pure_update key(...)`.
    Annotation,
    /// `// @pure_update key(...)` directly above a `oneway` method.
    Comment,
}

/// One entry of a `key(...)` clause, with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyRef {
    /// An argument by name.
    Name(String, usize),
    /// An argument by 0-based position.
    Index(u64, usize),
}

impl KeyRef {
    pub(crate) fn offset(&self) -> usize {
        match self {
            KeyRef::Name(_, at) | KeyRef::Index(_, at) => *at,
        }
    }
}

/// A `key(...)` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyClause {
    /// Offset of the word `key`.
    pub(crate) at: usize,
    pub(crate) refs: Vec<KeyRef>,
}

/// A `pure_update` tag tied to its method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) form: Form,
    /// Offset of `pure_update` (annotation form) or of the comment (comment form).
    pub(crate) at: usize,
    /// The method name, unquoted.
    pub(crate) method: String,
    pub(crate) keys: Option<KeyClause>,
}

/// The source with the extension lifted out, and the tags that were there.
#[derive(Debug)]
pub(crate) struct Lifted {
    /// Standard Candid, same length and line structure as the source (invariant A).
    pub(crate) text: String,
    pub(crate) tags: Vec<Tag>,
}

const MODES: [&str; 3] = ["query", "composite_query", "oneway"];
const PURE: &str = "pure_update";

/// Lifts the extension out of `src`.
///
/// # Errors
///
/// A [`Located`] error for every misuse of the extension that can be seen without types:
/// `key(...)` without `pure_update`, a malformed or empty key list, `pure_update` next to
/// another mode or given twice, on a `func` type or a method of another service, or on a
/// method that returns something; and a misplaced `// @pure_update` comment.
pub(crate) fn lift(src: &str) -> Result<Lifted, Located> {
    let all = tokenize(src);
    // candid_parser prints a NUL in a name as `\0`, an escape its own lexer refuses: such a
    // file has no standard form, so it is refused here, where the name is.
    if let Some(t) = all
        .iter()
        .find(|t| t.kind == Kind::Text && unquote(t.text(src)).contains('\0'))
    {
        return Err(Located::new(
            t.span.start,
            "a name cannot contain a NUL character: stock Candid tools cannot write it back",
        ));
    }
    let code = Code::new(src, &all);
    let actor = code.actor_brace();
    let mut text = src.as_bytes().to_vec();
    let mut tags = Vec::new();

    for group in code.annotation_groups()? {
        let Some(pure) = group.pure else {
            continue;
        };
        let method = code.method_before(group.start, pure)?;
        check_method(&code, &method, &group, pure, actor)?;
        // Invariant A: same length, newlines kept.
        blank(&mut text, code.tok(pure).span.clone());
        text[code.tok(pure).span.start..][..6].copy_from_slice(b"oneway");
        if let Some(k) = &group.keys {
            blank(&mut text, k.span.clone());
        }
        tags.push(Tag {
            form: Form::Annotation,
            at: code.tok(pure).span.start,
            method: method.name,
            keys: group.keys.map(|k| k.clause),
        });
    }

    for comment in all.iter().filter(|t| t.kind == Kind::LineComment) {
        if let Some(tag) = comment_tag(&code, comment, actor)? {
            tags.push(tag);
        }
    }
    tags.sort_by_key(|t| t.at);
    if let Some(dup) = tags
        .iter()
        .enumerate()
        .find_map(|(i, t)| tags[..i].iter().any(|u| u.method == t.method).then_some(t))
    {
        return Err(Located::new(
            dup.at,
            format!("`pure_update` given twice for method `{}`", dup.method),
        ));
    }

    // Only ASCII bytes were overwritten, each with an ASCII byte, on whole tokens: the
    // result is still UTF-8.
    let text = String::from_utf8(text).map_err(|_| Located::new(0, "file is not UTF-8"))?;
    Ok(Lifted { text, tags })
}

fn blank(text: &mut [u8], span: std::ops::Range<usize>) {
    for b in &mut text[span] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

/// The checks every tag must pass, whatever its form (invariant C).
fn check_method(
    code: &Code<'_>,
    method: &MethodSite,
    group: &Group,
    tag_tok: usize,
    actor: Option<usize>,
) -> Result<(), Located> {
    let at = code.tok(tag_tok).span.start;
    let name = &method.name;
    if let Some(&mode) = group.modes.first() {
        let word = code.tok(mode).text(code.src);
        return Err(Located::new(
            code.tok(mode).span.start.max(at),
            format!("`pure_update` cannot be combined with `{word}` (method `{name}`)"),
        ));
    }
    if !method.returns_unit {
        return Err(Located::new(
            at,
            format!("pure update `{name}` must return `()`: its calls are fire-and-forget"),
        ));
    }
    if method.brace.is_none() || method.brace != actor {
        return Err(Located::new(
            at,
            format!("`pure_update` on `{name}`, which is not a method of the canister's service"),
        ));
    }
    Ok(())
}

/// Reads a `// @pure_update key(...)` comment, if `comment` is one.
fn comment_tag(
    code: &Code<'_>,
    comment: &Token,
    actor: Option<usize>,
) -> Result<Option<Tag>, Located> {
    let body_at = comment.span.start + 2;
    let body = &code.src[body_at..comment.span.end];
    let trimmed = body.trim_start();
    let Some(rest) = trimmed.strip_prefix('@').and_then(|r| r.strip_prefix(PURE)) else {
        return Ok(None);
    };
    if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(None); // `@pure_updates`, say: not our tag.
    }
    let at = comment.span.start;
    let rest_at = body_at + (body.len() - trimmed.len()) + 1 + PURE.len();
    let toks: Vec<Token> = tokenize(rest)
        .into_iter()
        .map(|t| Token {
            kind: t.kind,
            span: t.span.start + rest_at..t.span.end + rest_at,
        })
        .collect();
    let keys = match toks.first() {
        None => None,
        Some(t) if t.is_word(code.src, "key") => {
            let (clause, end) = parse_key_clause(code.src, &toks, 0, comment.span.end)?;
            if let Some(extra) = toks.get(end) {
                return Err(Located::new(
                    extra.span.start,
                    "unexpected text after `key(...)` in `// @pure_update` comment",
                ));
            }
            Some(clause)
        }
        Some(t) => {
            return Err(Located::new(
                t.span.start,
                "expected `key(...)` or nothing after `// @pure_update`",
            ))
        }
    };

    let misplaced = || {
        Located::new(
            at,
            "`// @pure_update` must stand on the line directly above a method of the service",
        )
    };
    let next = code.all.get(
        code.all
            .partition_point(|t| t.span.start < comment.span.end),
    );
    let Some(next) = next else {
        return Err(misplaced());
    };
    let gap = &code.src[comment.span.end..next.span.start];
    if gap.matches('\n').count() != 1 || next.is_comment() {
        return Err(misplaced());
    }
    let Some(name_idx) = code.sig_index_at(next.span.start) else {
        return Err(misplaced());
    };
    let (method, group) = code.method_after(name_idx).ok_or_else(misplaced)?;
    if let Some(pure) = group.pure {
        return Err(Located::new(
            code.tok(pure).span.start,
            format!("`pure_update` given twice for method `{}`", method.name),
        ));
    }
    // The comment stands for the tag: check it as if it were one.
    let tag_tok = name_idx;
    let mut as_tag = group.clone();
    as_tag
        .modes
        .retain(|&m| code.tok(m).text(code.src) != "oneway");
    as_tag.pure = None;
    check_method(code, &method, &as_tag, tag_tok, actor).map_err(|mut e| {
        e.offset = at;
        e
    })?;
    if group.modes.is_empty() {
        return Err(Located::new(
            at,
            format!(
                "method `{}` under `// @pure_update` must be `oneway` for stock Candid tools",
                method.name
            ),
        ));
    }
    Ok(Some(Tag {
        form: Form::Comment,
        at,
        method: method.name,
        keys,
    }))
}

/// Parses `key ( ref, ... )` starting at `toks[i]` (the word `key`). Returns the clause and
/// the index just past `)`. `end` is where the tokens end (the file, or the comment), for
/// errors about something missing.
fn parse_key_clause(
    src: &str,
    toks: &[impl std::borrow::Borrow<Token>],
    i: usize,
    end: usize,
) -> Result<(KeyClause, usize), Located> {
    let tok = |j: usize| toks.get(j).map(|t| t.borrow());
    let key_at = tok(i).map_or(end, |t| t.span.start);
    let malformed = |j: usize, what: &str| {
        let at = tok(j).map_or(end, |t| t.span.start);
        Located::new(at, format!("malformed `key(...)`: {what}"))
    };
    if !tok(i + 1).is_some_and(|t| t.is('(')) {
        return Err(malformed(i + 1, "expected `(` after `key`"));
    }
    let mut refs = Vec::new();
    let mut j = i + 2;
    if tok(j).is_some_and(|t| t.is(')')) {
        return Err(Located::new(
            key_at,
            "empty `key()`: name at least one argument, or drop `key` for no key",
        ));
    }
    loop {
        let Some(t) = tok(j) else {
            return Err(malformed(j, "missing `)`"));
        };
        let text = t.text(src);
        let r = match t.kind {
            Kind::Ident => KeyRef::Name(text.to_string(), t.span.start),
            Kind::Text => KeyRef::Name(unquote(text), t.span.start),
            Kind::Number => match text.replace('_', "").parse::<u64>() {
                Ok(n) => KeyRef::Index(n, t.span.start),
                Err(_) => return Err(malformed(j, "a position must be a decimal number")),
            },
            _ => return Err(malformed(j, "expected an argument name or position")),
        };
        refs.push(r);
        j += 1;
        match tok(j) {
            Some(t) if t.is(',') => j += 1,
            Some(t) if t.is(')') => break,
            _ => return Err(malformed(j, "expected `,` or `)`")),
        }
        if tok(j).is_some_and(|t| t.is(')')) {
            break; // trailing comma
        }
    }
    Ok((KeyClause { at: key_at, refs }, j + 1))
}

/// The text of a Candid string literal (quotes included), with its escapes resolved.
pub(crate) fn unquote(lit: &str) -> String {
    let inner = lit.strip_prefix('"').unwrap_or(lit);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('u') if chars.peek() == Some(&'{') => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                let c = u32::from_str_radix(&hex.replace('_', ""), 16)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Some(h) if h.is_ascii_hexdigit() => {
                let lo = chars.next().unwrap_or('0');
                let byte = u8::from_str_radix(&format!("{h}{lo}"), 16).unwrap_or(b'?');
                out.push(byte);
            }
            Some(c) => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            None => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A run of annotations after a method's results.
#[derive(Debug, Clone)]
struct Group {
    /// Index (in `Code::sig`) of the first annotation.
    start: usize,
    /// `query`, `composite_query`, `oneway` tokens, in order.
    modes: Vec<usize>,
    /// The `pure_update` token, if any.
    pure: Option<usize>,
    keys: Option<KeyGroup>,
}

#[derive(Debug, Clone)]
struct KeyGroup {
    clause: KeyClause,
    /// Byte span of `key ( ... )`, to blank out.
    span: std::ops::Range<usize>,
}

/// Where a method stands: its name, the service braces around it, whether it returns `()`.
struct MethodSite {
    name: String,
    brace: Option<usize>,
    returns_unit: bool,
}

/// The significant (non-comment) tokens of a file, with bracket matching.
struct Code<'a> {
    src: &'a str,
    all: &'a [Token],
    /// Non-comment tokens.
    sig: Vec<&'a Token>,
    /// For each entry of `sig`, the index in `sig` of the innermost enclosing `{`.
    brace: Vec<Option<usize>>,
    /// For each `(`/`)` in `sig`, the index of its partner, if balanced.
    partner: Vec<Option<usize>>,
}

impl<'a> Code<'a> {
    fn new(src: &'a str, all: &'a [Token]) -> Code<'a> {
        let sig: Vec<&Token> = all.iter().filter(|t| !t.is_comment()).collect();
        let mut brace = Vec::with_capacity(sig.len());
        let mut partner = vec![None; sig.len()];
        let (mut braces, mut parens) = (Vec::new(), Vec::new());
        for (i, t) in sig.iter().enumerate() {
            if t.is('}') {
                braces.pop();
            }
            brace.push(braces.last().copied());
            if t.is('{') {
                braces.push(i);
            } else if t.is('(') {
                parens.push(i);
            } else if t.is(')') {
                if let Some(open) = parens.pop() {
                    partner[open] = Some(i);
                    partner[i] = Some(open);
                }
            }
        }
        Code {
            src,
            all,
            sig,
            brace,
            partner,
        }
    }

    fn tok(&self, i: usize) -> &'a Token {
        self.sig[i]
    }

    fn get(&self, i: usize) -> Option<&'a Token> {
        self.sig.get(i).copied()
    }

    fn word(&self, i: usize) -> Option<&'a str> {
        self.get(i)
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| t.text(self.src))
    }

    fn sig_index_at(&self, offset: usize) -> Option<usize> {
        // `sig` is sorted by offset (lexer invariant B).
        self.sig
            .binary_search_by_key(&offset, |t| t.span.start)
            .ok()
    }

    /// Every run of annotation words that follows a `)` (invariant B).
    fn annotation_groups(&self) -> Result<Vec<Group>, Located> {
        let mut groups = Vec::new();
        let mut i = 1;
        while i < self.sig.len() {
            if self.tok(i - 1).is(')') && self.word(i).is_some() {
                let (group, end) = self.read_group(i)?;
                groups.push(group);
                i = end.max(i + 1);
            } else {
                i += 1;
            }
        }
        Ok(groups)
    }

    /// Reads the annotations from `start`; returns the group and the index past it.
    fn read_group(&self, start: usize) -> Result<(Group, usize), Located> {
        let mut group = Group {
            start,
            modes: Vec::new(),
            pure: None,
            keys: None,
        };
        let mut i = start;
        while let Some(word) = self.word(i) {
            let at = self.tok(i).span.start;
            if MODES.contains(&word) {
                group.modes.push(i);
                i += 1;
            } else if word == PURE {
                if group.pure.is_some() {
                    return Err(Located::new(at, "`pure_update` given twice"));
                }
                group.pure = Some(i);
                i += 1;
            } else if word == "key" && self.get(i + 1).is_some_and(|t| t.is('(')) {
                if group.pure != Some(i.wrapping_sub(1)) {
                    return Err(Located::new(
                        at,
                        "`key(...)` without `pure_update`: only pure updates declare keys",
                    ));
                }
                let (clause, end) = parse_key_clause(self.src, &self.sig, i, self.src.len())?;
                let span = at..self.tok(end - 1).span.end;
                group.keys = Some(KeyGroup { clause, span });
                i = end;
            } else {
                break;
            }
        }
        Ok((group, i))
    }

    /// The method whose results end right before the annotation group at `start`.
    fn method_before(&self, start: usize, tag: usize) -> Result<MethodSite, Located> {
        let at = self.tok(tag).span.start;
        let not_method = || Located::new(at, "`pure_update` must follow a method's result type");
        let rets_close = start - 1;
        let rets_open = self.partner[rets_close].ok_or_else(not_method)?;
        let arrow = rets_open.checked_sub(1).ok_or_else(not_method)?;
        if self.tok(arrow).kind != Kind::Arrow || arrow == 0 {
            return Err(not_method());
        }
        let args_open = self.partner[arrow - 1]
            .filter(|_| self.tok(arrow - 1).is(')'))
            .ok_or_else(not_method)?;
        let before = args_open.checked_sub(1).and_then(|i| self.get(i));
        match before {
            Some(t) if t.is_word(self.src, "func") => Err(Located::new(
                at,
                "`pure_update` applies to service methods, not to `func` types",
            )),
            Some(t) if t.is(':') && args_open >= 2 => {
                let name_tok = self.tok(args_open - 2);
                let name = match name_tok.kind {
                    Kind::Ident => name_tok.text(self.src).to_string(),
                    Kind::Text => unquote(name_tok.text(self.src)),
                    _ => return Err(not_method()),
                };
                Ok(MethodSite {
                    name,
                    brace: self.service_brace(args_open - 2),
                    returns_unit: rets_close == rets_open + 1,
                })
            }
            _ => Err(not_method()),
        }
    }

    /// The method whose name is at `name`, and the annotations after its results; `None`
    /// if `name` does not start a method with a written-out signature.
    fn method_after(&self, name: usize) -> Option<(MethodSite, Group)> {
        let name_tok = self.get(name)?;
        let name_text = match name_tok.kind {
            Kind::Ident => name_tok.text(self.src).to_string(),
            Kind::Text => unquote(name_tok.text(self.src)),
            _ => return None,
        };
        if !self.get(name + 1)?.is(':') || !self.get(name + 2)?.is('(') {
            return None;
        }
        let args_close = self.partner[name + 2]?;
        if self.get(args_close + 1)?.kind != Kind::Arrow || !self.get(args_close + 2)?.is('(') {
            return None;
        }
        let rets_open = args_close + 2;
        let rets_close = self.partner[rets_open]?;
        let (group, _) = self.read_group(rets_close + 1).ok()?;
        let site = MethodSite {
            name: name_text,
            brace: self.service_brace(name),
            returns_unit: rets_close == rets_open + 1,
        };
        Some((site, group))
    }

    /// The `{` of the service type that token `i` is a method of, if it is one: directly
    /// inside braces, at the start of an entry.
    fn service_brace(&self, i: usize) -> Option<usize> {
        let open = self.brace[i]?;
        let starts_entry = i == open + 1 || self.tok(i - 1).is(';');
        starts_entry.then_some(open)
    }

    /// The `{` of the canister's main service: `service [name] : [(args) ->] { ... }`, or
    /// through `type T = service { ... }` when the service is named by a type.
    ///
    /// The main service is told from a service *type* by the `:` after the keyword (or
    /// after its name), not by a `;` before it: Candid lets the last definition drop its
    /// `;` (Internet Identity's archive `.did` does), and a service type is followed by
    /// `{` or a type name, never by `:`.
    fn actor_brace(&self) -> Option<usize> {
        let top = |i: usize| self.brace[i].is_none();
        let colon = |i: usize| self.get(i).is_some_and(|t| t.is(':'));
        let start = (0..self.sig.len()).rev().find(|&i| {
            top(i)
                && self.tok(i).is_word(self.src, "service")
                && (colon(i + 1) || (self.word(i + 1).is_some() && colon(i + 2)))
        })?;
        let mut i = start + 1;
        if self.get(i).is_some_and(|t| !t.is(':')) {
            i += 1; // `service name :`
        }
        if !self.get(i)?.is(':') {
            return None;
        }
        i += 1;
        if self.get(i)?.is('(') {
            i = self.partner[i]? + 1;
            if self.get(i)?.kind != Kind::Arrow {
                return None;
            }
            i += 1;
        }
        // Follow `type A = B;` chains to the literal; bounded, as definitions may cycle.
        for _ in 0..=self.sig.len() {
            let t = self.get(i)?;
            if t.is('{') {
                return Some(i);
            }
            if t.is_word(self.src, "service") && self.get(i + 1)?.is('{') {
                return Some(i + 1);
            }
            let name = self.word(i)?;
            i = (0..self.sig.len()).find(|&d| {
                top(d)
                    && self.tok(d).is_word(self.src, "type")
                    && self.word(d + 1) == Some(name)
                    && self.get(d + 2).is_some_and(|t| t.is('='))
            })? + 3;
        }
        None
    }
}

#[cfg(test)]
mod tests;
