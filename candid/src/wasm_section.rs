//! Reading text a wasm module carries in custom sections: a `.did` embedded as `dfx` and
//! `ic-wasm` embed it, and the commute SDK's record of its methods' modes.

use thiserror::Error;

/// The custom section that carries a canister's public `.did` on the Internet Computer.
pub const CANDID_SERVICE_SECTION: &str = "icp:public candid:service";

/// The wasm could not be read far enough to look for the section.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SectionError {
    /// The bytes are not a wasm module.
    #[error("not a wasm module: {0}")]
    NotWasm(String),
    /// The section is there but is not UTF-8 text.
    #[error("custom section `{0}` is not UTF-8 text")]
    NotText(String),
}

/// The text of the `icp:public candid:service` custom section of `wasm`, if it has one.
/// Only the section headers are read, not the code.
///
/// # Errors
///
/// [`SectionError`] if `wasm` is not a wasm module or the section is not UTF-8.
///
/// # Examples
///
/// ```
/// use commute_did::candid_service_section;
///
/// // A module with no sections at all.
/// let empty = b"\0asm\x01\0\0\0";
/// assert_eq!(candid_service_section(empty).unwrap(), None);
/// assert!(candid_service_section(b"not wasm").is_err());
/// ```
pub fn candid_service_section(wasm: &[u8]) -> Result<Option<String>, SectionError> {
    custom_section_text(wasm, CANDID_SERVICE_SECTION)
}

/// The text of the custom sections called `name` in `wasm`, concatenated in module order
/// (a linker may leave one per object file), if it has any. Only the section headers are
/// read, not the code.
///
/// # Errors
///
/// [`SectionError`] if `wasm` is not a wasm module or the sections are not UTF-8.
///
/// # Examples
///
/// ```
/// use commute_did::custom_section_text;
///
/// assert_eq!(custom_section_text(b"\0asm\x01\0\0\0", "commute:modes").unwrap(), None);
/// ```
pub fn custom_section_text(wasm: &[u8], name: &str) -> Result<Option<String>, SectionError> {
    let mut found: Option<Vec<u8>> = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| SectionError::NotWasm(e.message().to_string()))?;
        match payload {
            wasmparser::Payload::CustomSection(c) if c.name() == name => {
                found
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(c.data());
            }
            // Function bodies are skipped unparsed; stop at the end of the module.
            wasmparser::Payload::End(_) => break,
            _ => {}
        }
    }
    found
        .map(|bytes| String::from_utf8(bytes).map_err(|_| SectionError::NotText(name.into())))
        .transpose()
}

#[cfg(test)]
mod tests;
