//! The management canister `aaaaa-aa`, as far as commute serves it: `install_code` in mode
//! `upgrade`, from one of the canister's controllers (docs/http.md, "The management
//! canister").
//!
//! Canisters come into being by the operator's `commute install` (which names their
//! controllers with `--controller`); there is no `create_canister`, so there is never an
//! empty canister for mode `install`, and `reinstall` (wiping the state) is not served.
//!
//! # Invariants
//!
//! - (A) Only a controller changes code: the sender is checked against the canister's
//!   controllers before anything is compiled, and again on the round thread just before
//!   the install, so an operator's change of controllers meanwhile holds; a refused request
//!   changes nothing.
//! - (B) The URL's effective canister id is the one the argument names, as the IC requires.
//! - (C) The module is compiled on a blocking worker before the install reaches the round
//!   thread, so a large module never stops the rounds for cranelift; the install itself is
//!   ordered after every call accepted before it (`Host::install`).

use super::reject::Reject;
use super::requests::{Progress, Track};
use super::{on_rounds, IcError, EMPTY_REPLY};
use crate::api::{on_worker, Shared};
use crate::rounds::Job;
use candid::{CandidType, Deserialize, Principal};
use commute::host::HostError;
use std::sync::Arc;
use tokio::sync::oneshot;

/// `install_code`'s argument, as the IC's management canister declares it; fields this
/// host has no use for (`sender_canister_version`, upgrade flags) are read and ignored.
#[derive(CandidType, Deserialize)]
pub(crate) struct InstallCodeArgs {
    pub(crate) mode: InstallMode,
    pub(crate) canister_id: Principal,
    #[serde(with = "serde_bytes")]
    pub(crate) wasm_module: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub(crate) arg: Vec<u8>,
}

/// `install_code`'s modes.
#[derive(CandidType, Deserialize)]
pub(crate) enum InstallMode {
    #[serde(rename = "install")]
    Install,
    #[serde(rename = "reinstall")]
    Reinstall,
    #[serde(rename = "upgrade")]
    Upgrade(Option<candid::Reserved>),
}

/// Takes call `request` to the management canister, sent to the URL of `effective` by
/// `sender`, keeping its progress: an `install_code` is handed to the round thread, and
/// becomes `replied` once installed; anything refused becomes `rejected` at once.
///
/// # Errors
///
/// [`IcError`] (a 400) if the effective canister id is not the one the argument names
/// (invariant B).
pub(super) async fn call(
    shared: &Arc<Shared>,
    request: [u8; 32],
    effective: Principal,
    sender: Principal,
    (method, arg): (String, Vec<u8>),
) -> Result<(), IcError> {
    let reject = |r: Reject| shared.ic.set(&request, Track::Here(Progress::Rejected(r)));
    if method != "install_code" {
        reject(Reject::no_management_method(&method));
        return Ok(());
    }
    let args: InstallCodeArgs = match decode(&arg) {
        Ok(args) => args,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            reject(Reject::management(format!(
                "install_code: the argument is not an install_code_args record: {first:.200}"
            )));
            return Ok(());
        }
    };
    if args.canister_id != effective {
        return Err(IcError::bad(format!(
            "install_code names canister {} but was sent to the URL of {effective}",
            args.canister_id
        )));
    }
    let registry = shared.intake.registry();
    let Some(canister) = registry.iter().find(|c| c.principal == effective) else {
        reject(Reject::no_canister(&effective));
        return Ok(());
    };
    // Invariant A: before anything else is looked at.
    if !canister.controllers.contains(&sender) {
        reject(Reject::not_controller(&effective, &sender, &method));
        return Ok(());
    }
    let name = canister.name.clone();
    drop(registry);
    if let Err(why) = check_mode(&args) {
        reject(Reject::management(format!(
            "install_code on {effective}: {why}"
        )));
        return Ok(());
    }
    let wasm = args.wasm_module;
    if wasm.starts_with(&[0x1f, 0x8b]) {
        reject(Reject::management(format!(
            "install_code on {effective}: the module is gzip-compressed; send the raw wasm"
        )));
        return Ok(());
    }
    // Invariant C.
    let queries = shared.queries();
    let compiled = on_worker(move || queries.precompile(&wasm).map(|()| wasm)).await?;
    let wasm = match compiled {
        Ok(wasm) => wasm,
        Err(e) => {
            reject(Reject::management(format!(
                "install_code on {effective}: {e}"
            )));
            return Ok(());
        }
    };
    let (reply, answer) = oneshot::channel();
    let job = Job::Install {
        name,
        wasm,
        did: None,
        argument: None,
        controllers: None,
        // Checked again where the install runs: the operator may have changed the
        // controllers while the module compiled (invariant A).
        by: Some(sender),
        reply,
    };
    on_rounds(shared, request, (job, answer), move |answer| match answer {
        Ok(()) => Progress::Replied(EMPTY_REPLY.to_vec()),
        Err(HostError::NotController { .. }) => {
            Progress::Rejected(Reject::not_controller(&effective, &sender, "install_code"))
        }
        Err(e) => Progress::Rejected(Reject::management(format!(
            "install_code on {effective}: {e}"
        ))),
    })
}

/// `install_code`'s argument, decoded with work bounded by its size (a few bytes can
/// declare a `vec null` of 2^60 elements in a field this host skips).
fn decode(arg: &[u8]) -> Result<InstallCodeArgs, candid::Error> {
    let quota = 4 * arg.len() + (64 << 10);
    let mut config = candid::de::DecoderConfig::new();
    config.set_decoding_quota(quota).set_skipping_quota(quota);
    let mut de = candid::de::IDLDeserialize::new_with_config(arg, &config)?;
    let args = de.get_value()?;
    de.done()?;
    Ok(args)
}

/// Why `args` asks for what this host does not do, if it does.
fn check_mode(args: &InstallCodeArgs) -> Result<(), String> {
    match args.mode {
        InstallMode::Upgrade(_) => {}
        InstallMode::Install => {
            return Err("the canister has code already: mode `install` is for an empty canister, and commute keeps none (`commute install` creates a canister with its code); use mode `upgrade`".into());
        }
        InstallMode::Reinstall => {
            return Err("mode `reinstall` is not served: commute never wipes a canister's state; use mode `upgrade`".into());
        }
    }
    // What `canister_post_upgrade` receives on commute: nothing.
    if !(args.arg.is_empty() || args.arg == EMPTY_REPLY) {
        return Err("commute runs canister_post_upgrade without arguments: send an empty `arg` (or the empty Candid `()`)".into());
    }
    Ok(())
}
