//! How a refused or failed call is told to an IC client: a reject code (the spec's five
//! classes) and an error code (the replica's `ICxxxx`, whose hundreds give the class).
//!
//! | what happened | reject code | error code |
//! | --- | --- | --- |
//! | no canister with that id | 3 destination invalid | `IC0301` canister not found |
//! | no such method | 3 destination invalid | `IC0302` method not found |
//! | a query endpoint asked for a method that is not a query | 3 destination invalid | `IC0302` |
//! | arguments that do not decode as the method's types, or over the cap | 5 canister error | `IC0503`, as a Rust canister's decoding trap gives it |
//! | the call trapped | 5 canister error | `IC0503` canister called trap (`IC0502` for a wasm trap) |
//! | the host could not run it, or a reinstall changed the method's mode meanwhile | 2 system transient | `IC0201` |
//! | a management canister method other than `install_code` | 3 destination invalid | `IC0302` |
//! | `install_code` from a sender that is not one of the canister's controllers | 5 canister error | `IC0512` |
//! | `install_code` refused: its argument, its mode, or the module | 4 canister reject | `IC0406` |

use commute::host::HostError;
use commute::submit::SubmitError;
use ic_transport_types::{RejectCode, RejectResponse};

/// A call's reject, as the status tree and query replies carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub(crate) code: RejectCode,
    pub(crate) message: String,
    pub(crate) error_code: String,
}

impl Reject {
    fn new(code: RejectCode, error_code: &str, message: String) -> Reject {
        Reject {
            code,
            message,
            error_code: error_code.into(),
        }
    }

    /// The call trapped with `message`.
    pub(crate) fn trapped(message: String) -> Reject {
        // The guest's `trap` reaches the host as ic0.trap; other traps are wasm's own.
        let code = if message.contains("wasm trap") {
            "IC0502"
        } else {
            "IC0503"
        };
        Reject::new(RejectCode::CanisterError, code, message)
    }

    /// The method exists but is not a query.
    pub(crate) fn not_a_query(canister: &str, method: &str) -> Reject {
        Reject::new(
            RejectCode::DestinationInvalid,
            "IC0302",
            format!("`{canister}.{method}` is not a query method: call it as an update"),
        )
    }

    /// The method changed mode (a reinstall) while the call was being taken.
    pub(crate) fn changed_mode(canister: &candid::Principal, method: &str) -> Reject {
        Reject::new(
            RejectCode::SysTransient,
            "IC0201",
            format!("canister {canister} was reinstalled and `{method}` changed mode while the call was taken: send it again"),
        )
    }

    /// No canister has this id.
    pub(crate) fn no_canister(id: &candid::Principal) -> Reject {
        Reject::new(
            RejectCode::DestinationInvalid,
            "IC0301",
            format!("canister {id} not found"),
        )
    }

    /// The management canister serves no `method` here.
    pub(crate) fn no_management_method(method: &str) -> Reject {
        Reject::new(
            RejectCode::DestinationInvalid,
            "IC0302",
            format!(
                "the management canister serves only install_code here, not `{:.64}`",
                method.escape_debug().to_string()
            ),
        )
    }

    /// `sender` asked to change `canister` but is not one of its controllers.
    pub(crate) fn not_controller(
        canister: &candid::Principal,
        sender: &candid::Principal,
        method: &str,
    ) -> Reject {
        Reject::new(
            RejectCode::CanisterError,
            "IC0512",
            format!("only the controllers of canister {canister} may call ic00 method {method}; {sender} is not one"),
        )
    }

    /// The management canister refused a request: its argument, its mode, or the module.
    pub(crate) fn management(message: String) -> Reject {
        Reject::new(RejectCode::CanisterReject, "IC0406", message)
    }

    /// As the transport types carry it.
    pub(crate) fn response(&self) -> RejectResponse {
        RejectResponse {
            reject_code: self.code,
            reject_message: self.message.clone(),
            error_code: Some(self.error_code.clone()),
        }
    }
}

impl From<SubmitError> for Reject {
    fn from(e: SubmitError) -> Reject {
        let message = e.to_string();
        match e {
            SubmitError::UnknownCanister(_) => {
                Reject::new(RejectCode::DestinationInvalid, "IC0301", message)
            }
            SubmitError::UnknownMethod { .. } | SubmitError::WrongMode { .. } => {
                Reject::new(RejectCode::DestinationInvalid, "IC0302", message)
            }
            SubmitError::TooLarge { .. } | SubmitError::Args(_) => {
                Reject::new(RejectCode::CanisterError, "IC0503", message)
            }
        }
    }
}

impl From<HostError> for Reject {
    fn from(e: HostError) -> Reject {
        match e {
            HostError::Submit(e) => e.into(),
            HostError::Trapped { message, .. } => Reject::trapped(message),
            e => Reject::new(RejectCode::SysTransient, "IC0201", e.to_string()),
        }
    }
}
