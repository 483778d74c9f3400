//! How a `// @pure_update key(...)` tag names a key argument.

/// Whether the tag may name a key argument bare, by `name`: an identifier that is no
/// Candid keyword. Otherwise the tag names it by position. The SDK, which derives a
/// `.did`, and the host, which prints a `.did` in the standard form, spell keys the same
/// way by sharing this.
///
/// ```
/// use commute_abi::is_plain_key_name;
///
/// assert!(is_plain_key_name("user"));
/// assert!(!is_plain_key_name("record"));
/// assert!(!is_plain_key_name("2fa"));
/// assert!(!is_plain_key_name("my key"));
/// ```
pub fn is_plain_key_name(name: &str) -> bool {
    const KEYWORDS: [&str; 13] = [
        "type",
        "import",
        "service",
        "func",
        "record",
        "variant",
        "opt",
        "vec",
        "blob",
        "principal",
        "query",
        "oneway",
        "composite_query",
    ];
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}
