//! Who sent a request: the checks of the interface spec's authentication section, each
//! failure told by name, before anything is queued or run.
//!
//! # Rules
//!
//! - (A) The anonymous principal (`0x04`) sends with no key, signature or delegation.
//! - (B) Any other sender carries `sender_pubkey` and `sender_sig`, and is the
//!   self-authenticating principal of that key (its SHA-224 and `0x02`).
//! - (C) Each delegation is signed by the key before it (the first by `sender_pubkey`),
//!   over `"\x1Aic-request-auth-delegation" ‖ hash_of_map(delegation)`, is unexpired, and,
//!   where it names `targets`, names the canister called. At most [`MAX_DELEGATIONS`].
//! - (D) The last key of the chain signed `"\x0Aic-request" ‖ request_id`.
//! - (E) Keys are Ed25519, ECDSA secp256k1 or ECDSA P-256 (SHA-256, 64-byte `r ‖ s`), as
//!   DER `SubjectPublicKeyInfo`, or canister signature keys, as Internet Identity issues
//!   them: a signature by one is a certificate over the signing canister's certified data,
//!   which must verify with the root key of the network the canister runs on, the IC
//!   mainnet's ([`MAINNET_ROOT_KEY`]) for Internet Identity. A commute canister cannot sign
//!   so (commute keeps no certified data), so no key of commute's own is taken here.
//! - (F) `ingress_expiry` is at most [`MAX_EXPIRY_AHEAD`] ahead and not past.

use candid::Principal;
use ic_transport_types::{EnvelopeContent, RequestId, SignedDelegation};
use std::time::Duration;
use thiserror::Error;

/// The IC mainnet's root public key, DER (as `@dfinity/agent` ships it): the key that
/// certifies the canister signatures of Internet Identity's delegations (rule E).
pub const MAINNET_ROOT_KEY: &str = concat!(
    "308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100",
    "814c0e6ec71fab583b08bd81373c255c3c371b2e84863c98a4f1e08b74235d14fb5d9c0cd546d968",
    "5f913a0c0b2cc5341583bf4b4392e467db96d65b9bb4cb717112f8472e0d5a4d14505ffd7484",
    "b01291091c5f87b98883463f98091a0baaae",
);

/// The raw 96-byte BLS key of [`MAINNET_ROOT_KEY`].
pub fn mainnet_root_key() -> Vec<u8> {
    let der = hex::decode(MAINNET_ROOT_KEY).expect("the constant is hex");
    ic_canister_sig_creation::extract_raw_root_pk_from_der(&der)
        .expect("the constant is a BLS root key in DER")
}

/// The most delegations a chain may hold (the spec's limit).
pub const MAX_DELEGATIONS: usize = 20;

/// How far ahead a request may expire: the IC's 5 minutes, and 30 seconds for clocks
/// that disagree.
pub const MAX_EXPIRY_AHEAD: Duration = Duration::from_secs(5 * 60 + 30);

/// A request whose sender could not be established. Each message names the failed check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SenderError {
    /// Rule A.
    #[error("the anonymous sender must not carry a {0}")]
    AnonymousSigned(&'static str),
    /// Rule B: no key or no signature.
    #[error(
        "request from {0} carries no {1}: a signed request needs sender_pubkey and sender_sig"
    )]
    Unsigned(Principal, &'static str),
    /// Rule B: the key is another principal's.
    #[error("sender {sender} does not match its key, whose principal is {key}")]
    SenderMismatch {
        /// The sender the request names.
        sender: Principal,
        /// The principal of `sender_pubkey`.
        key: Principal,
    },
    /// Rule E.
    #[error("{0} is not an Ed25519, secp256k1, P-256 or canister signature public key in DER{1}")]
    UnknownKey(&'static str, &'static str),
    /// Rule C or D: a signature does not verify.
    #[error("invalid signature: the {0} does not verify with its key")]
    BadSignature(&'static str),
    /// Rule C or D, for a canister signature key: the certificate does not prove it.
    #[error("invalid canister signature: the {what} does not verify with its key: {why}")]
    BadCanisterSignature {
        /// What was signed.
        what: &'static str,
        /// What the check found.
        why: String,
    },
    /// Rule C: too long a chain.
    #[error("{0} delegations, over the limit of {MAX_DELEGATIONS}")]
    TooManyDelegations(usize),
    /// Rule C: expired delegation.
    #[error("delegation {index} expired at {expiration} ns, before now ({now} ns)")]
    DelegationExpired {
        /// Its place in the chain, from 0.
        index: usize,
        /// Its expiration.
        expiration: u64,
        /// Now.
        now: u64,
    },
    /// Rule C: the delegation does not cover the canister.
    #[error("delegation {index} does not target canister {canister}")]
    NotTargeted {
        /// Its place in the chain, from 0.
        index: usize,
        /// The canister called.
        canister: Principal,
    },
    /// Rule F: expired.
    #[error("request expired: ingress_expiry {expiry} ns is before now ({now} ns)")]
    Expired {
        /// The request's `ingress_expiry`.
        expiry: u64,
        /// Now.
        now: u64,
    },
    /// Rule F: too far ahead.
    #[error("ingress_expiry {expiry} ns is more than {}s after now ({now} ns)", MAX_EXPIRY_AHEAD.as_secs())]
    TooFarAhead {
        /// The request's `ingress_expiry`.
        expiry: u64,
        /// Now.
        now: u64,
    },
}

/// The signing parts of an envelope, borrowed.
pub(crate) struct Signed<'a> {
    pub(crate) pubkey: Option<&'a [u8]>,
    pub(crate) sig: Option<&'a [u8]>,
    pub(crate) delegations: Option<&'a [SignedDelegation]>,
}

/// The verified sender of `content` (id `id`), signed as `signed` says, at `now` (ns):
/// rules A to F. Canister signatures verify with `root`, a raw BLS root key.
///
/// # Errors
///
/// The [`SenderError`] of the first check that fails.
pub(crate) fn verify(
    content: &EnvelopeContent,
    id: &RequestId,
    signed: &Signed<'_>,
    (now, root): (u64, &[u8]),
) -> Result<Principal, SenderError> {
    let expiry = content.ingress_expiry();
    if expiry < now {
        return Err(SenderError::Expired { expiry, now });
    }
    let ahead = u64::try_from(MAX_EXPIRY_AHEAD.as_nanos()).expect("minutes fit in u64");
    if expiry > now.saturating_add(ahead) {
        return Err(SenderError::TooFarAhead { expiry, now });
    }
    let sender = *content.sender();
    if sender == Principal::anonymous() {
        for (present, what) in [
            (signed.pubkey.is_some(), "sender_pubkey"),
            (signed.sig.is_some(), "sender_sig"),
            (signed.delegations.is_some(), "sender_delegation"),
        ] {
            if present {
                return Err(SenderError::AnonymousSigned(what));
            }
        }
        return Ok(sender);
    }
    let pubkey = signed
        .pubkey
        .ok_or(SenderError::Unsigned(sender, "sender_pubkey"))?;
    let sig = signed
        .sig
        .ok_or(SenderError::Unsigned(sender, "sender_sig"))?;
    let key = Principal::self_authenticating(pubkey);
    if key != sender {
        return Err(SenderError::SenderMismatch { sender, key });
    }
    let delegations = signed.delegations.unwrap_or_default();
    if delegations.len() > MAX_DELEGATIONS {
        return Err(SenderError::TooManyDelegations(delegations.len()));
    }
    let canister = match content {
        EnvelopeContent::Call { canister_id, .. } | EnvelopeContent::Query { canister_id, .. } => {
            Some(*canister_id)
        }
        EnvelopeContent::ReadState { .. } => None,
    };
    let mut signer = PublicKey::from_der(pubkey, "sender_pubkey")?;
    for (index, d) in delegations.iter().enumerate() {
        signer.verify(
            &d.delegation.signable(),
            &d.signature,
            ("delegation signature", root),
        )?;
        if d.delegation.expiration < now {
            return Err(SenderError::DelegationExpired {
                index,
                expiration: d.delegation.expiration,
                now,
            });
        }
        if let (Some(targets), Some(canister)) = (&d.delegation.targets, canister) {
            if !targets.contains(&canister) {
                return Err(SenderError::NotTargeted { index, canister });
            }
        }
        signer = PublicKey::from_der(&d.delegation.pubkey, "a delegation's pubkey")?;
    }
    signer.verify(&id.signable(), sig, ("sender_sig", root))?;
    Ok(sender)
}

/// A key a sender may sign with (rule E).
enum PublicKey<'a> {
    Ed25519(ed25519_dalek::VerifyingKey),
    Secp256k1(k256::ecdsa::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    /// A canister signature key, as DER: checked whole by each verification.
    Canister(&'a [u8]),
}

impl<'a> PublicKey<'a> {
    fn from_der(der: &'a [u8], what: &'static str) -> Result<PublicKey<'a>, SenderError> {
        use k256::pkcs8::DecodePublicKey;
        if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(key));
        }
        if let Ok(key) = k256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Secp256k1(key));
        }
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(key));
        }
        // The crate slices the DER before it checks its length: only a key that holds its
        // whole prefix reaches it, so no request can make it panic.
        use ic_canister_sig_creation::{CanisterSigPublicKey, CANISTER_SIG_PK_DER_PREFIX_LENGTH};
        if der.len() > CANISTER_SIG_PK_DER_PREFIX_LENGTH
            && CanisterSigPublicKey::try_from(der).is_ok()
        {
            return Ok(PublicKey::Canister(der));
        }
        Err(SenderError::UnknownKey(what, ""))
    }

    /// Whether `sig` is this key's signature of `message`; `root` verifies a canister
    /// signature's certificate.
    fn verify(
        &self,
        message: &[u8],
        sig: &[u8],
        (what, root): (&'static str, &[u8]),
    ) -> Result<(), SenderError> {
        use k256::ecdsa::signature::Verifier;
        let bad = || SenderError::BadSignature(what);
        match self {
            PublicKey::Ed25519(key) => {
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| bad())?;
                key.verify_strict(message, &sig).map_err(|_| bad())
            }
            PublicKey::Secp256k1(key) => {
                let sig = k256::ecdsa::Signature::from_slice(sig).map_err(|_| bad())?;
                // The spec does not ask for low S; the crate's check does.
                let sig = sig.normalize_s().unwrap_or(sig);
                key.verify(message, &sig).map_err(|_| bad())
            }
            PublicKey::P256(key) => {
                let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|_| bad())?;
                key.verify(message, &sig).map_err(|_| bad())
            }
            PublicKey::Canister(der) => {
                ic_signature_verification::verify_canister_sig(message, sig, der, root)
                    .map_err(|why| SenderError::BadCanisterSignature { what, why })
            }
        }
    }
}
