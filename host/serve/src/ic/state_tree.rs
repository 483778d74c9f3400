//! The part of the IC's state tree a certificate shows: what a `read_state` asked for, and
//! `/time`, built fresh for each answer and signed by the root key.
//!
//! | path | value |
//! | --- | --- |
//! | `/time` | now, in ns since the epoch, LEB128 |
//! | `/subnet/<sid>/public_key` | the root key, DER |
//! | `/subnet/<sid>/canister_ranges` | CBOR `[(low, high)]`: every 10-byte id, so every canister |
//! | `/subnet/<sid>/node/<nid>/public_key` | the node key, DER (query signatures) |
//! | `/canister/<cid>/metadata/candid:service` | the canister's standard-form `.did` |
//! | `/request_status/<rid>/status` and `reply` or `reject_code`, `reject_message`, `error_code` | a call's progress |
//!
//! A certificate holds the witness of each path asked for (an absent one is proven absent,
//! which clients read as "unknown") merged with `/time`'s, so it reveals nothing else and
//! its size follows the request, not the state.

use super::keys::Keys;
use super::requests::Progress;
use candid::Principal;
use ic_certification::{Certificate, HashTree, NestedTree};
use serde::Serialize;

/// `"\x0Dic-state-root"`: what the root key signs before a tree's root hash.
const STATE_ROOT_DOMAIN: &[u8] = b"\x0Dic-state-root";

/// A state tree under construction.
pub(crate) struct StateTree {
    tree: NestedTree<Vec<u8>, Vec<u8>>,
}

/// An unsigned LEB128 number, as the tree stores `time` and `reject_code`.
fn leb128(n: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(10);
    leb128::write::unsigned(&mut bytes, n).expect("writing to a Vec cannot fail");
    bytes
}

fn path(labels: &[&[u8]]) -> Vec<Vec<u8>> {
    labels.iter().map(|l| l.to_vec()).collect()
}

impl StateTree {
    /// A tree holding `/time` (`now`, ns) and the `/subnet` subtree of `keys`.
    pub(crate) fn new(keys: &Keys, now: u64) -> StateTree {
        let mut tree = NestedTree::default();
        tree.insert(&path(&[b"time"]), leb128(now));
        let (sid, nid) = (keys.subnet_id(), keys.node_id());
        tree.insert(
            &path(&[b"subnet", sid.as_slice(), b"public_key"]),
            keys.root_der().to_vec(),
        );
        let all = (
            Principal::from_slice(&[0; 10]),
            Principal::from_slice(&[0xff; 10]),
        );
        tree.insert(
            &path(&[b"subnet", sid.as_slice(), b"canister_ranges"]),
            serde_cbor::to_vec(&vec![all]).expect("principals encode"),
        );
        tree.insert(
            &path(&[
                b"subnet",
                sid.as_slice(),
                b"node",
                nid.as_slice(),
                b"public_key",
            ]),
            keys.node_der().to_vec(),
        );
        StateTree { tree }
    }

    /// Adds `/canister/<id>/metadata/candid:service`.
    pub(crate) fn candid_service(&mut self, canister: Principal, did: &str) {
        self.tree.insert(
            &path(&[
                b"canister",
                canister.as_slice(),
                b"metadata",
                b"candid:service",
            ]),
            did.as_bytes().to_vec(),
        );
    }

    /// Adds `/request_status/<id>/…` for a call at `progress` (nothing while unknown).
    pub(crate) fn request_status(&mut self, id: &[u8], progress: &Progress) {
        let at = |leaf: &[u8]| path(&[b"request_status", id, leaf]);
        let status: &[u8] = match progress {
            Progress::Received => b"received",
            Progress::Processing => b"processing",
            Progress::Replied(reply) => {
                self.tree.insert(&at(b"reply"), reply.clone());
                b"replied"
            }
            Progress::Rejected(reject) => {
                self.tree
                    .insert(&at(b"reject_code"), leb128(reject.code as u64));
                self.tree
                    .insert(&at(b"reject_message"), reject.message.as_bytes().to_vec());
                self.tree
                    .insert(&at(b"error_code"), reject.error_code.as_bytes().to_vec());
                b"rejected"
            }
        };
        self.tree.insert(&at(b"status"), status.to_vec());
    }

    /// The certificate of `paths` (and `/time`), signed by `keys`' root key, in CBOR.
    pub(crate) fn certify(&self, keys: &Keys, paths: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut witness = self.tree.witness(&path(&[b"time"]));
        for p in paths {
            witness = ic_certification::merge_hash_trees(witness, self.tree.witness(p));
        }
        sign(keys, witness)
    }
}

/// `tree` with the root key's signature of its root hash, as a CBOR certificate.
fn sign(keys: &Keys, tree: HashTree) -> Vec<u8> {
    let mut message = STATE_ROOT_DOMAIN.to_vec();
    message.extend_from_slice(&tree.digest());
    let certificate = Certificate {
        tree,
        signature: keys.sign_root(&message).to_vec(),
        delegation: None,
    };
    cbor(&certificate)
}

/// `value` in CBOR, behind the self-describing tag 55799 as the IC sends it.
pub(crate) fn cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let mut serializer = serde_cbor::Serializer::new(Vec::new());
    serializer
        .self_describe()
        .expect("writing to a Vec cannot fail");
    value
        .serialize(&mut serializer)
        .expect("the IC's types encode");
    serializer.into_inner()
}
