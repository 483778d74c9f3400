//! The installed canisters: their wasm, their checked `.did`, their principal.
//!
//! # Byte layout
//!
//! ```text
//! 'i' ‖ name   →   Installed record, Candid-encoded: { wasm : blob; did : text }
//! ```
//!
//! `did` is the standard `.did` text (`docs/did.md`), which parses back to the same interface.
//!
//! # Invariants
//!
//! - (A) A name is in the registry only if its wasm compiled, passed the import and export
//!   checks, and its `canister_init` (if any) committed: install writes the record in the
//!   batch that commits the init's writes, so a refused install leaves nothing behind.
//! - (B) A canister's principal is a function of its name alone, so it is the same on every
//!   machine and after every restart.
//! - (C) A module is compiled at install and kept, compiled, in the data dir's `modules/`
//!   folder ([`crate::execute::cache`]); a new process loads it on first use, not at open
//!   (opening a host to ask a ticket's status loads nothing), and compiles it only where the
//!   kept file is missing, corrupt or of another engine. At most once per process either
//!   way, however many workers ask at once.

use crate::execute::{Compiled, Engine, ExecuteError, Limits};
use crate::store::area;
use candid::{CandidType, Deserialize, Principal};
use commute_did::{Did, SharedInterface};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use thiserror::Error;

/// A registry operation failed.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record does not decode or its `.did` no longer parses.
    #[error("installed canister `{name}` is corrupt: {message}")]
    Corrupt {
        /// The canister.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The stored form of an installed canister.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Deserialize)]
pub struct Record {
    /// The module.
    pub wasm: ByteBuf,
    /// The standard `.did` text.
    pub did: String,
    /// Who may upgrade it through the IC interface's management canister (`install_code`);
    /// absent in records written before controllers existed, which have none.
    pub controllers: Option<Vec<Principal>>,
}

/// An installed canister, ready to be called.
#[derive(Debug)]
pub struct Canister {
    /// Its installed name.
    pub name: String,
    /// Its principal (invariant B): the caller of every child call it fires.
    pub principal: Principal,
    /// Its interface, usable from any thread.
    pub interface: SharedInterface,
    /// Who may upgrade it through the IC interface (`install_code`); the operator always may.
    pub controllers: Vec<Principal>,
    wasm: Arc<[u8]>,
    compiled: OnceLock<Compiled>,
    /// The data dir whose `modules/` keeps the compiled module, if any.
    dir: Option<Arc<Path>>,
}

impl Canister {
    /// A canister from its parts; `compiled`, if given, is what `wasm` compiles to.
    pub(crate) fn new(name: &str, wasm: Arc<[u8]>, did: &Did, compiled: Option<Compiled>) -> Self {
        let cell = OnceLock::new();
        if let Some(c) = compiled {
            let _ = cell.set(c);
        }
        Canister {
            name: name.to_string(),
            principal: principal_of(name),
            interface: SharedInterface::new(did),
            controllers: Vec::new(),
            wasm,
            compiled: cell,
            dir: None,
        }
    }

    /// Whether the module is compiled (or loaded) already: for tests.
    #[cfg(test)]
    pub(crate) fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }

    /// The compiled module, compiling it on first use (invariant C).
    ///
    /// # Errors
    ///
    /// [`ExecuteError`] if the stored module no longer compiles (another engine
    /// configuration, say).
    pub fn compiled(&self, engine: &Engine) -> Result<&Compiled, ExecuteError> {
        if let Some(c) = self.compiled.get() {
            return Ok(c);
        }
        // Single flight is the engine's: racing workers get the one module it makes.
        let c = engine.module(&self.wasm, self.dir.as_deref())?;
        Ok(self.compiled.get_or_init(|| c))
    }
}

/// The engines of the process, one per [`Limits`]: compiling is cranelift's slowest work,
/// each engine keeps the modules it compiled, and hosts on the same limits run the same
/// code.
static ENGINES: Mutex<Vec<Engine>> = Mutex::new(Vec::new());

/// The process's engine for `limits`, made on first use.
///
/// # Errors
///
/// [`ExecuteError`] if the engine cannot be set up.
pub fn engine_for(limits: Limits) -> Result<Engine, ExecuteError> {
    let mut all = ENGINES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(engine) = all.iter().find(|e| *e.limits() == limits) {
        return Ok(engine.clone());
    }
    let engine = Engine::new(limits)?;
    all.push(engine.clone());
    Ok(engine)
}

/// The principal of the canister installed as `name` (invariant B): opaque, 10 bytes like
/// an IC canister id, derived with blake3 from the name.
///
/// ```
/// let a = commute::registry::principal_of("logger");
/// assert_eq!(a, commute::registry::principal_of("logger"));
/// assert_ne!(a, commute::registry::principal_of("audit"));
/// assert_eq!(a.as_slice().len(), 10);
/// ```
pub fn principal_of(name: &str) -> Principal {
    let digest = blake3::derive_key("commute 2025-01 canister principal v1", name.as_bytes());
    let mut id = [0u8; 10];
    id[..8].copy_from_slice(&digest[..8]);
    // The IC's class byte for opaque ids, after a fixed byte: ids look like canister ids.
    id[8] = 0x01;
    id[9] = 0x01;
    Principal::from_slice(&id)
}

/// Whether `name` is a valid canister name: `[a-z0-9_-]{1,64}` (`docs/modes.md`).
///
/// ```
/// use commute::registry::valid_name;
/// assert!(valid_name("logger_2"));
/// assert!(!valid_name("Logger") && !valid_name("") && !valid_name(&"a".repeat(65)));
/// ```
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The store key of canister `name`.
pub(crate) fn key(name: &str) -> Vec<u8> {
    let mut k = vec![area::INSTALLED];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The installed canisters, by name. Cloning shares the canisters.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    canisters: BTreeMap<String, Arc<Canister>>,
    /// The data dir whose `modules/` keeps the compiled modules, if any.
    dir: Option<Arc<Path>>,
}

impl Registry {
    /// Loads every installed canister from `tree`, without compiling (invariant C); their
    /// compiled modules are kept in data dir `dir`, if given.
    ///
    /// # Errors
    ///
    /// [`RegistryError`] if sled fails or a record is corrupt.
    pub fn load(tree: &sled::Tree, dir: Option<PathBuf>) -> Result<Registry, RegistryError> {
        let dir: Option<Arc<Path>> = dir.map(Into::into);
        let mut canisters = BTreeMap::new();
        for item in tree.scan_prefix([area::INSTALLED]) {
            let (k, v) = item?;
            let name = String::from_utf8_lossy(&k[1..]).into_owned();
            let corrupt = |message: String| RegistryError::Corrupt {
                name: name.clone(),
                message,
            };
            let record: Record = candid::decode_one(&v).map_err(|e| corrupt(e.to_string()))?;
            let did = Did::parse(&name, &record.did).map_err(|e| corrupt(e.to_string()))?;
            let mut canister = Canister::new(&name, record.wasm.into_vec().into(), &did, None);
            canister.controllers = record.controllers.unwrap_or_default();
            canister.dir = dir.clone();
            canisters.insert(name, Arc::new(canister));
        }
        Ok(Registry { canisters, dir })
    }

    /// `wasm` compiled on `engine` for an install, its compiled form kept in the data dir
    /// (invariant C), or the module compiled before from the same bytes on `engine`.
    ///
    /// # Errors
    ///
    /// [`ExecuteError`] if `wasm` does not compile or fails the import checks.
    pub fn compile(&self, engine: &Engine, wasm: &[u8]) -> Result<Compiled, ExecuteError> {
        engine.module(wasm, self.dir.as_deref())
    }

    /// The canister installed as `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Canister>> {
        self.canisters.get(name)
    }

    /// The name of the canister `name_or_id` designates: a canister installed under that
    /// name, else the one whose principal (in text form, as IC clients and `commute id`
    /// give it) that is.
    ///
    /// ```
    /// # let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "canister_query q")))"#)?;
    /// let mut host = commute::Host::temporary()?;
    /// host.install("mycan", &wasm, Some(("mycan.did", "service : { q : () -> () query }")), None)?;
    /// let id = commute::registry::principal_of("mycan").to_text();
    /// assert_eq!(host.registry().resolve(&id), Some("mycan"));
    /// assert_eq!(host.registry().resolve("mycan"), Some("mycan"));
    /// assert_eq!(host.registry().resolve("other"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(&self, name_or_id: &str) -> Option<&str> {
        if let Some((name, _)) = self.canisters.get_key_value(name_or_id) {
            return Some(name);
        }
        let id = Principal::from_text(name_or_id).ok()?;
        self.canisters
            .values()
            .find(|c| c.principal == id)
            .map(|c| c.name.as_str())
    }

    /// Every installed canister, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Canister>> {
        self.canisters.values()
    }

    /// Records `canister` as installed in memory; the caller persists its [`Record`].
    pub(crate) fn insert(&mut self, mut canister: Canister) {
        canister.dir = self.dir.clone();
        self.canisters
            .insert(canister.name.clone(), Arc::new(canister));
    }
}
