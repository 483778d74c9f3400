//! The server's two key pairs, as a local replica has them: the root key that signs
//! certificates (BLS12-381, the IC's threshold scheme with one signer) and the node key that
//! signs query replies (Ed25519). Both are made at the first start and kept in the data dir,
//! so a client that fetched the root key once keeps trusting a restarted server.
//!
//! Each key is a file of its 32 secret bytes in hex, mode 0600, next to `serve.token`:
//! whoever can read the data dir owns its state anyway.

use candid::Principal;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ic_verify_bls_signature::{PrivateKey as BlsKey, Signature as BlsSignature};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The file, in the data dir, that holds the root (BLS12-381) secret key.
pub const ROOT_KEY_FILE: &str = "ic-root.key";

/// The file, in the data dir, that holds the node (Ed25519) secret key.
pub const NODE_KEY_FILE: &str = "ic-node.key";

/// What every DER-wrapped IC root key starts with: the SubjectPublicKeyInfo of a
/// BLS12-381 G2 key (algorithm OID 1.3.6.1.4.1.44668.5.3.1.2.1, curve OID
/// 1.3.6.1.4.1.44668.5.3.2.1), before its 96 bytes. No crate writes this wrapping; both
/// clients strip exactly this prefix.
const BLS_DER_PREFIX: [u8; 37] = [
    0x30, 0x81, 0x82, 0x30, 0x1d, 0x06, 0x0d, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05,
    0x03, 0x01, 0x02, 0x01, 0x06, 0x0c, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03,
    0x02, 0x01, 0x03, 0x61, 0x00,
];

/// A key file could not be read, written or understood.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The file holds something other than a key of its kind.
    #[error("{path}: not a secret key written by commute serve (64 hex digits); remove it to make a new identity")]
    Corrupt {
        /// The key file.
        path: PathBuf,
    },
}

/// The root and node key pairs of one data dir.
pub struct Keys {
    root: BlsKey,
    root_der: Vec<u8>,
    node: ed25519_dalek::SigningKey,
    node_der: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("subnet", &self.subnet_id().to_text())
            .field("node", &self.node_id().to_text())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The keys kept in `dir`, each made (and written) if its file does not exist yet.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let keys = commute_serve::ic::Keys::load_or_create(dir.path())?;
    /// let again = commute_serve::ic::Keys::load_or_create(dir.path())?;
    /// assert_eq!(keys.root_der(), again.root_der());
    /// assert_eq!(keys.root_der().len(), 133);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyError::Io`] if a file cannot be read or written, [`KeyError::Corrupt`] if one
    /// holds no key.
    pub fn load_or_create(dir: &Path) -> Result<Keys, KeyError> {
        let root = secret(&dir.join(ROOT_KEY_FILE), |bytes| {
            BlsKey::deserialize(bytes).ok()
        })?;
        let node = secret(&dir.join(NODE_KEY_FILE), |bytes| {
            let bytes: [u8; 32] = bytes.try_into().ok()?;
            Some(ed25519_dalek::SigningKey::from_bytes(&bytes))
        })?;
        let mut root_der = BLS_DER_PREFIX.to_vec();
        root_der.extend_from_slice(&root.public_key().serialize());
        let node_der = node
            .verifying_key()
            .to_public_key_der()
            .expect("an Ed25519 key always has a DER form")
            .into_vec();
        Ok(Keys {
            root,
            root_der,
            node,
            node_der,
        })
    }

    /// The root public key, DER-wrapped, as `/api/v2/status` gives it (133 bytes).
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The subnet's id: the self-authenticating principal of the root key, as clients
    /// derive it for a replica whose certificates carry no delegation.
    pub fn subnet_id(&self) -> Principal {
        Principal::self_authenticating(&self.root_der)
    }

    /// The node's public key, DER-wrapped (44 bytes), as `/subnet/<id>/node/<id>/public_key`.
    pub fn node_der(&self) -> &[u8] {
        &self.node_der
    }

    /// The node's id: the self-authenticating principal of its key.
    pub fn node_id(&self) -> Principal {
        Principal::self_authenticating(&self.node_der)
    }

    /// The root key's signature of `message` (48 bytes).
    pub fn sign_root(&self, message: &[u8]) -> [u8; BlsSignature::BYTES] {
        self.root.sign(message).serialize()
    }

    /// The node key's signature of `message` (64 bytes).
    pub fn sign_node(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.node.sign(message).to_bytes()
    }
}

/// The key in `path`, or a fresh one written there: random bytes until `parse` takes them
/// (a BLS secret must be below the group order, which about half of all 32-byte strings are).
fn secret<K>(path: &Path, parse: impl Fn(&[u8]) -> Option<K>) -> Result<K, KeyError> {
    let io = |error| KeyError::Io {
        path: path.to_path_buf(),
        error,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            return hex::decode(text.trim())
                .ok()
                .and_then(|bytes| parse(&bytes))
                .ok_or_else(|| KeyError::Corrupt {
                    path: path.to_path_buf(),
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let (bytes, key) = loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| io(std::io::Error::other(e)))?;
        if let Some(key) = parse(&bytes) {
            break (bytes, key);
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(key)
}
