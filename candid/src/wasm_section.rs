//! Reading a `.did` embedded in a wasm module, as `dfx` and `ic-wasm` embed it.

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
    #[error("custom section `{CANDID_SERVICE_SECTION}` is not UTF-8 text")]
    NotText,
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
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| SectionError::NotWasm(e.message().to_string()))?;
        match payload {
            wasmparser::Payload::CustomSection(c) if c.name() == CANDID_SERVICE_SECTION => {
                let text = std::str::from_utf8(c.data()).map_err(|_| SectionError::NotText)?;
                return Ok(Some(text.to_string()));
            }
            // Function bodies are skipped unparsed; stop at the end of the module.
            wasmparser::Payload::End(_) => break,
            _ => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
