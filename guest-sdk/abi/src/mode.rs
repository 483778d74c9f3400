//! [`Mode`]: the kinds of call a canister method can be run as.

use std::fmt;

/// The mode a call runs in (`docs/modes.md`). It decides which imports the call may use
/// ([`Class::allowed_in`](crate::Class::allowed_in)).
///
/// ```
/// use commute_abi::Mode;
///
/// assert_eq!(Mode::PureUpdate.to_string(), "pure_update");
/// assert_eq!(Mode::PureUpdate.export_prefix(), "canister_update ");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// `canister_init`, run once at install.
    Init,
    /// An update: reads, writes, replies; runs serially in seq order.
    Update,
    /// A oneway update: like an update, its reply (if any) goes nowhere.
    Oneway,
    /// A query: reads the last committed state and replies; writes nothing.
    Query,
    /// A pure update: commutative writes and `call_pure` only; no reads, no reply.
    PureUpdate,
}

impl Mode {
    /// Every mode, in declaration order.
    ///
    /// ```
    /// assert_eq!(commute_abi::Mode::ALL.len(), 5);
    /// ```
    pub const ALL: [Mode; 5] = [
        Mode::Init,
        Mode::Update,
        Mode::Oneway,
        Mode::Query,
        Mode::PureUpdate,
    ];

    /// The mode's name as the `.did` and error messages spell it (`init` and `update`
    /// have no `.did` keyword).
    ///
    /// ```
    /// assert_eq!(commute_abi::Mode::Query.as_str(), "query");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Init => "init",
            Mode::Update => "update",
            Mode::Oneway => "oneway",
            Mode::Query => "query",
            Mode::PureUpdate => "pure_update",
        }
    }

    /// The prefix of the export that implements a method of this mode, followed by the
    /// method name; `canister_init` for [`Mode::Init`], which takes no name.
    ///
    /// ```
    /// use commute_abi::Mode;
    ///
    /// assert_eq!(Mode::Query.export_prefix(), "canister_query ");
    /// assert_eq!(Mode::Oneway.export_prefix(), "canister_update ");
    /// assert_eq!(Mode::Init.export_prefix(), "canister_init");
    /// ```
    pub const fn export_prefix(self) -> &'static str {
        match self {
            Mode::Init => crate::export::INIT,
            Mode::Query => crate::export::QUERY_PREFIX,
            Mode::Update | Mode::Oneway | Mode::PureUpdate => crate::export::UPDATE_PREFIX,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
