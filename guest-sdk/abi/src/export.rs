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
