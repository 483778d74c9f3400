//! Unit tests of the IC interface: certificates, the request table, sender rules, keys.

use super::keys::{KeyError, Keys, ROOT_KEY_FILE};
use super::reject::Reject;
use super::requests::{Progress, Requests, Track};
use super::sender::{self, SenderError, Signed};
use super::state_tree::StateTree;
use candid::Principal;
use ic_certification::{Certificate, LookupResult};
use ic_transport_types::EnvelopeContent;

fn keys() -> (tempfile::TempDir, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::load_or_create(dir.path()).unwrap();
    (dir, keys)
}

/// A tree with three calls in each final state and one in progress, and a canister.
fn tree(keys: &Keys) -> StateTree {
    let mut tree = StateTree::new(keys, 1_700_000_000_000_000_000);
    tree.request_status(&[1; 32], &Progress::Replied(b"DIDL\0\0".to_vec()));
    tree.request_status(
        &[2; 32],
        &Progress::Rejected(Reject::trapped("boom".into())),
    );
    tree.request_status(&[3; 32], &Progress::Processing);
    tree.candid_service(Principal::from_slice(&[7; 10]), "service : {}");
    tree
}

fn decode(bytes: &[u8]) -> Certificate {
    serde_cbor::from_slice(bytes).unwrap()
}

/// The paths a `read_state` might ask for: present, absent, prefixes and overlong ones.
fn candidate_paths(keys: &Keys) -> Vec<Vec<Vec<u8>>> {
    let sid = keys.subnet_id();
    let l = |labels: &[&[u8]]| labels.iter().map(|l| l.to_vec()).collect::<Vec<_>>();
    vec![
        l(&[b"time"]),
        l(&[b"subnet"]),
        l(&[b"subnet", sid.as_slice(), b"public_key"]),
        l(&[b"request_status", &[1; 32]]),
        l(&[b"request_status", &[2; 32], b"reject_message"]),
        l(&[b"request_status", &[3; 32]]),
        l(&[b"request_status", &[9; 32]]),
        l(&[b"canister", &[7; 10], b"metadata", b"candid:service"]),
        l(&[b"canister", &[8; 10], b"module_hash"]),
        l(&[b"time", b"deeper", b"still"]),
        l(&[]),
        l(&[b"zzz"]),
    ]
}

/// What the law below checks against, built once per thread (keys and BLS are slow).
struct Fixture {
    _dir: tempfile::TempDir,
    keys: Keys,
    tree: StateTree,
    paths: Vec<Vec<Vec<u8>>>,
    root: [u8; 32],
}

thread_local! {
    static FIXTURE: Fixture = {
        let (dir, keys) = keys();
        let tree = tree(&keys);
        let paths = candidate_paths(&keys);
        let root = decode(&tree.certify(&keys, &paths)).tree.digest();
        Fixture { _dir: dir, keys, tree, paths, root }
    };
}

/// Law: whichever paths a certificate shows, its tree's root is the state tree's root
/// (certify(P).tree.digest() = certify(all).tree.digest() for every subset P), and the
/// root key's signature of that root verifies.
fn prop_a_certificate_of_any_paths_has_the_trees_root_and_verifies(pick: Vec<u8>) -> bool {
    FIXTURE.with(|f| {
        let paths: Vec<_> = pick
            .iter()
            .map(|i| f.paths[*i as usize % f.paths.len()].clone())
            .collect();
        let cert = decode(&f.tree.certify(&f.keys, &paths));
        let mut message = b"\x0Dic-state-root".to_vec();
        message.extend_from_slice(&cert.tree.digest());
        let key = raw_root(&f.keys);
        cert.tree.digest() == f.root
            && ic_verify_bls_signature::verify_bls_signature(&cert.signature, &message, &key)
                .is_ok()
    })
}

#[test]
fn certificates_of_any_paths_have_the_trees_root_and_verify() {
    quickcheck::QuickCheck::new().tests(50).quickcheck(
        prop_a_certificate_of_any_paths_has_the_trees_root_and_verifies as fn(Vec<u8>) -> bool,
    );
}

#[test]
fn a_certificate_shows_what_was_asked_and_proves_the_rest_absent() {
    let (_dir, keys) = keys();
    let tree = tree(&keys);
    let paths = candidate_paths(&keys);
    let cert = decode(&tree.certify(&keys, &paths[3..5]));
    let found = |path: &[&[u8]]| match cert.tree.lookup_path(path) {
        LookupResult::Found(v) => Some(v.to_vec()),
        _ => None,
    };
    assert_eq!(
        found(&[b"request_status", &[1; 32], b"status"]).unwrap(),
        b"replied"
    );
    assert_eq!(
        found(&[b"request_status", &[1; 32], b"reply"]).unwrap(),
        b"DIDL\0\0"
    );
    assert_eq!(
        found(&[b"request_status", &[2; 32], b"reject_message"]).unwrap(),
        b"boom"
    );
    assert!(found(&[b"time"]).is_some(), "/time is always there");
    // Asked for nothing of call 3: its status is pruned, not shown.
    assert!(found(&[b"request_status", &[3; 32], b"status"]).is_none());
    let absent = decode(&tree.certify(&keys, &paths[6..7]));
    assert!(matches!(
        absent
            .tree
            .lookup_path([b"request_status".as_ref(), &[9; 32], b"status"]),
        LookupResult::Absent
    ));
}

#[test]
fn a_final_progress_never_changes_and_expired_calls_are_dropped() {
    let requests = Requests::default();
    let anyone = Principal::anonymous();
    assert_eq!(requests.begin([1; 32], anyone, 100, 0), None);
    requests.set(&[1; 32], Track::Here(Progress::Replied(vec![1])));
    requests.set(&[1; 32], Track::Here(Progress::Processing));
    assert_eq!(
        requests.get(&[1; 32]).unwrap().1,
        Track::Here(Progress::Replied(vec![1]))
    );
    // A resent request finds the first one's track.
    assert_eq!(
        requests.begin([1; 32], anyone, 100, 50),
        Some(Track::Here(Progress::Replied(vec![1])))
    );
    // Past its expiry, the next call drops it.
    assert_eq!(requests.begin([2; 32], anyone, 300, 200), None);
    assert_eq!(requests.get(&[1; 32]), None);
    assert!(requests.get(&[2; 32]).is_some());
}

fn read_state(sender: Principal, expiry: u64) -> EnvelopeContent {
    EnvelopeContent::ReadState {
        ingress_expiry: expiry,
        sender,
        paths: vec![],
    }
}

#[test]
fn the_sender_rules_each_name_their_check() {
    let now = 1_000_000_000_000;
    let none = Signed {
        pubkey: None,
        sig: None,
        delegations: None,
    };
    let check = |content: &EnvelopeContent, signed: &Signed<'_>| {
        sender::verify(content, &content.to_request_id(), signed, (now, &[]))
    };
    let anonymous = read_state(Principal::anonymous(), now + 1);
    assert_eq!(check(&anonymous, &none), Ok(Principal::anonymous()));
    let with_key = Signed {
        pubkey: Some(b"key"),
        ..none
    };
    assert_eq!(
        check(&anonymous, &with_key),
        Err(SenderError::AnonymousSigned("sender_pubkey"))
    );
    let far = read_state(Principal::anonymous(), now + 10 * 60 * 1_000_000_000);
    assert!(matches!(
        check(&far, &none),
        Err(SenderError::TooFarAhead { .. })
    ));
    let someone = Principal::self_authenticating(b"key");
    let unsigned = read_state(someone, now + 1);
    assert_eq!(
        check(&unsigned, &none),
        Err(SenderError::Unsigned(someone, "sender_pubkey"))
    );
    let signed = Signed {
        pubkey: Some(b"key"),
        sig: Some(b"sig"),
        delegations: None,
    };
    assert_eq!(
        check(&unsigned, &signed),
        Err(SenderError::UnknownKey("sender_pubkey", ""))
    );
}

#[test]
fn a_key_file_that_holds_no_key_is_named_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ROOT_KEY_FILE), "not hex\n").unwrap();
    let err = Keys::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, KeyError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(ROOT_KEY_FILE), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(ROOT_KEY_FILE)).unwrap(),
        "not hex\n"
    );
}

/// The 96-byte BLS key of `keys`' root, as a verifier takes it.
fn raw_root(keys: &Keys) -> Vec<u8> {
    ic_canister_sig_creation::extract_raw_root_pk_from_der(keys.root_der()).unwrap()
}

/// A canister signature of `message` by `canister`'s key with `seed`, as Internet Identity
/// makes one: a tree holding `/sig/H(seed)/H(message)`, and a certificate, signed by `root`,
/// whose `/canister/<canister>/certified_data` is that tree's digest.
fn canister_sig(root: &Keys, canister: Principal, seed: &[u8], message: &[u8]) -> Vec<u8> {
    use ic_canister_sig_creation::hash_bytes;
    use ic_certification::{labeled, leaf, HashTree};
    let tree = labeled(
        "sig",
        labeled(hash_bytes(seed), labeled(hash_bytes(message), leaf(b""))),
    );
    let certified = labeled(
        "canister",
        labeled(
            canister.as_slice(),
            labeled("certified_data", leaf(tree.digest())),
        ),
    );
    let mut signed = b"\x0Dic-state-root".to_vec();
    signed.extend_from_slice(&certified.digest());
    let certificate = Certificate {
        tree: certified,
        signature: root.sign_root(&signed).to_vec(),
        delegation: None,
    };
    #[derive(serde::Serialize)]
    struct Signature {
        #[serde(with = "serde_bytes")]
        certificate: Vec<u8>,
        tree: HashTree,
    }
    super::state_tree::cbor(&Signature {
        certificate: super::state_tree::cbor(&certificate),
        tree,
    })
}

#[test]
fn an_internet_identity_delegation_verifies_with_the_root_that_certified_it() {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::Signer;
    use ic_transport_types::{Delegation, SignedDelegation};
    let now = 1_000_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let network = Keys::load_or_create(dir.path()).unwrap();
    let root = &raw_root(&network)[..];
    let ii = Principal::from_text("rdmx6-jaaaa-aaaaa-aaadq-cai").unwrap();
    let user_key =
        ic_canister_sig_creation::CanisterSigPublicKey::new(ii, b"anchor 10000".to_vec()).to_der();
    let user = Principal::self_authenticating(&user_key);
    let session = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let session_key = session
        .verifying_key()
        .to_public_key_der()
        .unwrap()
        .to_vec();
    let delegation = Delegation {
        pubkey: session_key,
        expiration: now + 60_000_000_000,
        targets: None,
        permissions: None,
    };
    let content = read_state(user, now + 1);
    let id = content.to_request_id();
    let session_sig = session.sign(&id.signable()).to_bytes().to_vec();
    let chain = |signature: Vec<u8>| {
        vec![SignedDelegation {
            delegation: delegation.clone(),
            signature,
        }]
    };
    let check = |chain: &[SignedDelegation], root: &[u8]| {
        let signed = Signed {
            pubkey: Some(&user_key),
            sig: Some(&session_sig),
            delegations: Some(chain),
        };
        sender::verify(&content, &id, &signed, (now, root))
    };
    let good = chain(canister_sig(
        &network,
        ii,
        b"anchor 10000",
        &delegation.signable(),
    ));
    assert_eq!(check(&good, root), Ok(user));
    // Another network's root key did not certify it: the mainnet's, say.
    let err = check(&good, &sender::mainnet_root_key()).unwrap_err();
    assert!(
        matches!(
            err,
            SenderError::BadCanisterSignature {
                what: "delegation signature",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("invalid BLS signature"), "{err}");
    // A signature of another delegation, or by another user's seed, proves nothing.
    for (seed, message) in [
        (&b"anchor 10000"[..], &b"another delegation"[..]),
        (b"anchor 10001", &delegation.signable()[..]),
    ] {
        let forged = chain(canister_sig(&network, ii, seed, message));
        let err = check(&forged, root).unwrap_err();
        assert!(
            err.to_string().contains("signature entry not found"),
            "{err}"
        );
    }
    assert_eq!(sender::mainnet_root_key().len(), 96);
    // A canister signature key cut short before its seed is an unknown key, named; past
    // that it is another (valid) key, which did not sign. Never a panic.
    let seed_at =
        ic_canister_sig_creation::CANISTER_SIG_PK_DER_PREFIX_LENGTH + 1 + ii.as_slice().len();
    for len in 0..user_key.len() {
        let signed = Signed {
            pubkey: Some(&user_key[..len]),
            sig: Some(&session_sig),
            delegations: None,
        };
        let cut = read_state(Principal::self_authenticating(&user_key[..len]), now + 1);
        let got = sender::verify(&cut, &cut.to_request_id(), &signed, (now, root));
        if len < seed_at {
            assert!(
                matches!(got, Err(SenderError::UnknownKey("sender_pubkey", _))),
                "{len}: {got:?}"
            );
        } else {
            assert!(
                matches!(got, Err(SenderError::BadCanisterSignature { .. })),
                "{len}: {got:?}"
            );
        }
    }
}
