//! The names a canister exports, and the custom section that carries its `.did`.
//!
//! ```
//! use commute_abi::{export, Mode};
//!
//! assert_eq!(export::method(Mode::PureUpdate, "log"), "canister_update log");
//! assert_eq!(export::parse("canister_query count"), Some((export::Kind::Query, "count")));
//! ```

use crate::Mode;

/// The export run once at install, if present.
///
/// ```
/// assert_eq!(commute_abi::export::INIT, "canister_init");
/// ```
pub const INIT: &str = "canister_init";

/// The prefix of a query method's export, followed by the method name.
///
/// ```
/// assert!(commute_abi::export::QUERY_PREFIX.ends_with(' '));
/// ```
pub const QUERY_PREFIX: &str = "canister_query ";

/// The prefix of an update's, a oneway's or a pure update's export, followed by the
/// method name. The `.did` says which of the three a method is.
///
/// ```
/// assert_eq!(commute_abi::export::UPDATE_PREFIX, "canister_update ");
/// ```
pub const UPDATE_PREFIX: &str = "canister_update ";

/// The name under which a guest exports its linear memory, as Rust-built wasm does.
///
/// ```
/// assert_eq!(commute_abi::export::MEMORY, "memory");
/// ```
pub const MEMORY: &str = "memory";

/// The custom section that may carry the canister's `.did`, so an install can omit it.
///
/// ```
/// assert_eq!(commute_abi::export::CANDID_SECTION, "icp:public candid:service");
/// ```
pub const CANDID_SECTION: &str = "icp:public candid:service";

/// The query that replies with the canister's `.did` text, as Candid `(text)`: what the
/// SDK's `export_candid!()` exports (under ic-cdk's name for it), and what an install
/// given no `.did` runs when the wasm has no [`CANDID_SECTION`]. Not a method of the
/// `.did` it returns.
///
/// ```
/// use commute_abi::{export, Mode};
///
/// assert_eq!(
///     export::method(Mode::Query, export::CANDID_QUERY),
///     "canister_query __get_candid_interface_tmp_hack"
/// );
/// ```
pub const CANDID_QUERY: &str = "__get_candid_interface_tmp_hack";

/// The export that implements `method` in `mode` (`canister_init` ignores `method`).
///
/// ```
/// use commute_abi::{export, Mode};
///
/// assert_eq!(export::method(Mode::Query, "views"), "canister_query views");
/// assert_eq!(export::method(Mode::Init, ""), "canister_init");
/// ```
pub fn method(mode: Mode, method: &str) -> String {
    match mode {
        Mode::Init => INIT.to_owned(),
        _ => format!("{}{method}", mode.export_prefix()),
    }
}

/// Which entry point an export is, as [`parse`] reads it from its name alone.
///
/// ```
/// use commute_abi::export::{parse, Kind};
///
/// assert_eq!(parse("canister_init"), Some((Kind::Init, "")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `canister_init`.
    Init,
    /// `canister_query NAME`.
    Query,
    /// `canister_update NAME`: an update, oneway or pure update, as the `.did` says.
    Update,
}

/// Reads an export name: `Some((kind, method))` for a canister entry point, `None` for
/// anything else (`memory`, helper exports).
///
/// ```
/// use commute_abi::export::{parse, Kind};
///
/// assert_eq!(parse("canister_update log"), Some((Kind::Update, "log")));
/// assert_eq!(parse("memory"), None);
/// ```
pub fn parse(export: &str) -> Option<(Kind, &str)> {
    if export == INIT {
        Some((Kind::Init, ""))
    } else if let Some(name) = export.strip_prefix(QUERY_PREFIX) {
        Some((Kind::Query, name))
    } else {
        export
            .strip_prefix(UPDATE_PREFIX)
            .map(|name| (Kind::Update, name))
    }
}

/// The custom section in which the SDK's entry-point macros record the mode each method was
/// compiled for, so that an install can refuse a `.did` that disagrees: `update`, `oneway`
/// and `pure_update` share one export name, and a mismatch would otherwise show only as a
/// trap at run time. One [`mode_record`] per method; the linker concatenates them.
///
/// ```
/// assert_eq!(commute_abi::export::MODES_SECTION, "commute:modes");
/// ```
pub const MODES_SECTION: &str = "commute:modes";

/// The record of [`MODES_SECTION`] for `method`, compiled for `mode`: `MODE NAME\n`.
///
/// ```
/// use commute_abi::{export, Mode};
///
/// assert_eq!(export::mode_record(Mode::PureUpdate, "log"), "pure_update log\n");
/// ```
pub fn mode_record(mode: Mode, method: &str) -> String {
    format!("{mode} {method}\n")
}

/// The `(mode, method)` pairs of a [`MODES_SECTION`]'s text, in the order written; `Err`
/// with the first record that is not `MODE NAME` with a known mode.
///
/// ```
/// use commute_abi::{export, Mode};
///
/// let text = "query count\npure_update log\n";
/// assert_eq!(
///     export::parse_modes(text),
///     Ok(vec![(Mode::Query, "count"), (Mode::PureUpdate, "log")])
/// );
/// assert_eq!(export::parse_modes("sometimes log\n"), Err("sometimes log"));
/// ```
pub fn parse_modes(text: &str) -> Result<Vec<(Mode, &str)>, &str> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (mode, name) = line.split_once(' ').ok_or(line)?;
            let mode = Mode::ALL
                .into_iter()
                .find(|m| m.as_str() == mode)
                .ok_or(line)?;
            Ok((mode, name))
        })
        .collect()
}
