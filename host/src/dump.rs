//! The readable form of a dump: what `commute dump` prints by default.
//!
//! [`Queries::dump`](crate::Queries::dump) gives a canister's stable structures with every
//! name, key and value in hex: exact, one form for all bytes, and what the HTTP API serves
//! and tests compare. [`readable`] turns that into what a canister developer reads, by one
//! rule, [`text_or_hex`], for every structure name, key, value and list element:
//!
//! - **text**, the bytes themselves, if they are valid UTF-8, hold no control character
//!   ([`char::is_control`]: U+0000–U+001F, U+007F–U+009F) and do not start with `0x`;
//! - else **`0x` and the bytes in lowercase hex**.
//!
//! Counter values stay decimal strings. Lists keep their order; a structure's keys come in
//! the order of their rendered strings (a JSON object's), no longer in byte order.
//!
//! # Why this form
//!
//! - **`0x`, not `{"hex": …}`.** Map keys are JSON object keys, which can only be strings:
//!   a wrapping object would serve values but not keys, and one rule for both reads better.
//!   `0x…` is how bytes are written in Rust and C literals and in Ethereum's JSON.
//! - **Never ambiguous.** Text that itself starts with `0x` is shown in hex, so a string
//!   that starts with `0x` is always hex and any other string is always text: the rendering
//!   is one-to-one, and two keys never collide in one object.
//! - **Control characters mean bytes.** [`Storable`] integers are big-endian: a `u64` of 3
//!   is seven NULs and a 3, valid UTF-8 that would print as `"\u0000\u0000…"`. Text with a
//!   newline or tab goes to hex too: rare in keys and state, and one rule is easier to
//!   read back than a list of exceptions.
//!
//! [`Storable`]: https://docs.rs/ic-stable-structures/0.7.2/ic_stable_structures/trait.Storable.html

use serde_json::{Map, Value};

/// A value that is not a hex dump, as [`readable`] found it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DumpError {
    /// The value lacks a part of a dump, or holds something else in its place; names where.
    #[error("not a dump: {0}")]
    NotADump(String),
}

/// `bytes` as text if they are valid UTF-8 with no control character and do not start with
/// `0x`; else `0x` and their lowercase hex (see the [module doc](self) for why).
///
/// # Examples
///
/// ```
/// use commute::dump::text_or_hex;
///
/// assert_eq!(text_or_hex(b"actions"), "actions");
/// assert_eq!(text_or_hex(&3u64.to_be_bytes()), "0x0000000000000003");
/// assert_eq!(text_or_hex(&[0xff, 0xfe]), "0xfffe");
/// assert_eq!(text_or_hex(b"0x1"), "0x307831");
/// ```
pub fn text_or_hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.starts_with("0x") && !text.chars().any(char::is_control) => {
            text.to_string()
        }
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

/// The readable form of `hex_dump`, a dump as [`Queries::dump`](crate::Queries::dump) gives
/// it: every name, key, value and list element through [`text_or_hex`], counter values as
/// they are.
///
/// # Errors
///
/// [`DumpError::NotADump`] if `hex_dump` is not of the form
/// `{"counters":{…},"maps":{…},"lists":{…}}` with hex where bytes belong, naming the part.
///
/// # Examples
///
/// ```
/// use serde_json::json;
///
/// let hex = json!({
///     "counters": {"6e": {"": "2"}},
///     "maps": {"7573657273": {"616c696365": "00ff"}},
///     "lists": {"6576656e7473": ["6869"]},
/// });
/// let readable = json!({
///     "counters": {"n": {"": "2"}},
///     "maps": {"users": {"alice": "0x00ff"}},
///     "lists": {"events": ["hi"]},
/// });
/// assert_eq!(commute::dump::readable(&hex)?, readable);
/// # Ok::<(), commute::dump::DumpError>(())
/// ```
pub fn readable(hex_dump: &Value) -> Result<Value, DumpError> {
    let section = |name: &str| {
        hex_dump
            .get(name)
            .and_then(Value::as_object)
            .ok_or_else(|| DumpError::NotADump(format!("no `{name}` object")))
    };
    let mut out = Map::new();
    for (part, values_are_bytes) in [("counters", false), ("maps", true)] {
        let mut structures = Map::new();
        for (name, entries) in section(part)? {
            let at = format!("{part}.{name}");
            let entries = entries
                .as_object()
                .ok_or_else(|| DumpError::NotADump(format!("`{at}` is not an object")))?;
            let mut rendered = Map::new();
            for (key, value) in entries {
                let value = if values_are_bytes {
                    Value::String(from_hex(value, &format!("{at}.{key}"))?)
                } else {
                    value.clone()
                };
                rendered.insert(from_hex_str(key, &at)?, value);
            }
            structures.insert(from_hex_str(name, part)?, Value::Object(rendered));
        }
        out.insert(part.to_string(), Value::Object(structures));
    }
    let mut lists = Map::new();
    for (name, elements) in section("lists")? {
        let at = format!("lists.{name}");
        let elements = elements
            .as_array()
            .ok_or_else(|| DumpError::NotADump(format!("`{at}` is not an array")))?;
        let rendered = elements
            .iter()
            .enumerate()
            .map(|(i, e)| from_hex(e, &format!("{at}[{i}]")).map(Value::String))
            .collect::<Result<_, _>>()?;
        lists.insert(from_hex_str(name, "lists")?, Value::Array(rendered));
    }
    out.insert("lists".to_string(), Value::Object(lists));
    Ok(Value::Object(out))
}

/// `value`, a JSON string of hex, rendered; `at` names it in an error.
fn from_hex(value: &Value, at: &str) -> Result<String, DumpError> {
    let text = value
        .as_str()
        .ok_or_else(|| DumpError::NotADump(format!("`{at}` is not a string")))?;
    from_hex_str(text, at)
}

/// `text`, hex found in `at`, rendered.
fn from_hex_str(text: &str, at: &str) -> Result<String, DumpError> {
    let bytes = hex::decode(text)
        .map_err(|e| DumpError::NotADump(format!("`{text}` in `{at}` is not hex ({e})")))?;
    Ok(text_or_hex(&bytes))
}

#[cfg(test)]
mod tests;
