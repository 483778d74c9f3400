//! The `.did` a wasm module carries, for an install given none: the text of its
//! `icp:public candid:service` section (a hand-written `.did`, as `export_candid!("F.did")`,
//! `dfx` and `ic-wasm` embed it), else what its query `__get_candid_interface_tmp_hack`
//! replies (the `.did` the SDK's `export_candid!()` derives from the Rust signatures).
//!
//! Why run a query rather than read a section: a proc macro sees the types' names, not
//! their Candid shapes, so the derived text exists only once the canister's code runs
//! (`CandidType::ty()`), as with ic-cdk, where `candid-extractor` runs the wasm for it.
//! Install runs it on a fresh instance like any query: read-only, with the usual fuel
//! and memory caps, so a hostile module gains nothing from it.

use crate::execute::{self, Compiled, Engine, Outcome};
use crate::registry::{principal_of, Registry};
use crate::round;
use crate::store::StateReader;
use commute_abi::export;
use commute_did::{candid_service_section, Did, DidError};

/// Why the wasm's `.did` could not be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WasmDidError {
    /// Neither a section nor the query.
    #[error(
        "no .did given, and the wasm has neither an icp:public candid:service section nor \
         a `{}` query (commute_cdk::export_candid! makes one)",
        export::CANDID_QUERY
    )]
    None,
    /// The module could not be read or run.
    #[error("{0}")]
    Module(String),
    /// The query did not reply with one text.
    #[error("the wasm's `{query}` query {0}", query = export::CANDID_QUERY)]
    Query(String),
    /// The text is not a valid `.did`.
    #[error(transparent)]
    Did(#[from] DidError),
}

/// What runs a module's query, as install would.
pub(crate) struct Runner<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) registry: &'a Registry,
    pub(crate) reader: &'a StateReader,
}

/// The `.did` of `wasm` (compiled as `compiled`), to be installed as `name`.
///
/// # Errors
///
/// [`WasmDidError`] naming what is missing or wrong.
pub(crate) fn read(
    name: &str,
    wasm: &[u8],
    compiled: &Compiled,
    runner: &Runner<'_>,
) -> Result<Did, WasmDidError> {
    if let Some(text) =
        candid_service_section(wasm).map_err(|e| WasmDidError::Module(e.to_string()))?
    {
        return Ok(Did::parse(&format!("{name}.wasm (candid:service)"), &text)?);
    }
    let query = export::method(commute_abi::Mode::Query, export::CANDID_QUERY);
    if !compiled.has_export(&query) {
        return Err(WasmDidError::None);
    }
    let principal = principal_of(name);
    let caller = candid::Principal::anonymous();
    let arg = candid::encode_args(()).expect("empty args encode");
    let call = execute::Call {
        canister: name,
        self_principal: principal.as_slice(),
        method: export::CANDID_QUERY,
        export: &query,
        mode: execute::Mode::Query,
        caller: caller.as_slice(),
        arg: &arg,
        time: 0,
    };
    let ran = round::run_call(
        runner.engine,
        runner.registry,
        runner.reader,
        compiled,
        &call,
    )
    .map_err(|e| WasmDidError::Module(e.to_string()))?;
    let bytes = match ran.outcome {
        Outcome::Replied(bytes) => bytes,
        Outcome::Trapped(message) => {
            return Err(WasmDidError::Query(format!("trapped: {message}")))
        }
        Outcome::Done => return Err(WasmDidError::Query("did not reply".into())),
    };
    let (text,): (String,) = candid::decode_args(&bytes).map_err(|e| {
        // candid's message spans lines; an install error is one.
        let e = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        WasmDidError::Query(format!("did not reply one text: {e}"))
    })?;
    Ok(Did::parse(
        &format!("{name}.wasm ({})", export::CANDID_QUERY),
        &text,
    )?)
}

#[cfg(test)]
mod tests;
