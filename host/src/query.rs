//! Queries: answered at once, from any thread, against the last committed state
//! (`docs/modes.md`). A query never waits for the round in flight: it reads sled, which commits a
//! round's batch atomically, so it sees every round whole or not at all. The same holds for
//! the other reads a server answers beside its rounds: ticket status, root, dump.

use crate::execute::{self, Engine};
use crate::finished::Finished;
use crate::host::HostError;
use crate::outcome::{self, Outcome, Status};
use crate::queue;
use crate::registry::Registry;
use crate::root::Root;
use crate::round;
use crate::store::{Entry, StateReader};
use crate::submit::{self, now_nanos, Args, SubmitError};
use candid::Principal;
use commute_did::Mode;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A reply to a query or update, with its Candid text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The Candid bytes the canister replied with.
    pub bytes: Vec<u8>,
    /// Those bytes as Candid text with types, e.g. `(10 : nat64)`.
    pub text: String,
}

/// Answers queries; cheap to clone, `Send`, usable while the host runs a round.
#[derive(Clone)]
pub struct Queries {
    reader: StateReader,
    engine: Engine,
    registry: Arc<Registry>,
}

impl std::fmt::Debug for Queries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queries").finish_non_exhaustive()
    }
}

/// A reply's Candid text, decoded against the method's result types.
pub(crate) fn reply(
    registry: &Registry,
    canister: &str,
    method: &str,
    bytes: Vec<u8>,
) -> Result<Reply, HostError> {
    let c = registry
        .get(canister)
        .ok_or_else(|| SubmitError::UnknownCanister(canister.to_string()))?;
    let text = c
        .interface
        .with(|i| match i.method(method).map(|m| m.mode) {
            Some(Mode::Oneway | Mode::PureUpdate) => Ok("()".to_string()),
            _ => i.decode_reply(method, &bytes).map(|args| args.to_string()),
        });
    let text = text.map_err(SubmitError::from)?;
    Ok(Reply { bytes, text })
}

impl Queries {
    pub(crate) fn new(reader: StateReader, engine: Engine, registry: Arc<Registry>) -> Queries {
        Queries {
            reader,
            engine,
            registry,
        }
    }

    /// Runs a query against the last committed state.
    ///
    /// # Errors
    ///
    /// [`HostError::Submit`] if the call is refused, [`HostError::Trapped`] if it trapped.
    pub fn query(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<Reply, HostError> {
        let c = self
            .registry
            .get(canister)
            .ok_or_else(|| SubmitError::UnknownCanister(canister.to_string()))?;
        let (mode, checked) = c.interface.with(|i| {
            let m = submit::lookup(i, canister, method)?;
            if !matches!(m.mode, Mode::Query | Mode::CompositeQuery) {
                return Err(SubmitError::WrongMode {
                    canister: canister.to_string(),
                    method: method.to_string(),
                    mode: m.mode,
                    hint: "only queries are answered without a seq",
                });
            }
            Ok((m.mode, submit::decode(i, method, args)?))
        })?;
        let compiled = c.compiled(&self.engine)?;
        let export = if compiled.has_export(&mode.export_name(method)) {
            mode.export_name(method)
        } else {
            Mode::Query.export_name(method)
        };
        let exec_call = execute::Call {
            canister,
            self_principal: c.principal.as_slice(),
            method,
            export: &export,
            mode: execute::Mode::Query,
            caller: caller.as_slice(),
            arg: &checked.bytes,
            time: now_nanos(),
        };
        let ex = round::run_call(
            &self.engine,
            &self.registry,
            &self.reader,
            compiled,
            &exec_call,
        )?;
        match ex.outcome {
            execute::Outcome::Replied(bytes) => reply(&self.registry, canister, method, bytes),
            execute::Outcome::Trapped(message) => Err(HostError::Trapped {
                canister: canister.to_string(),
                method: method.to_string(),
                message,
            }),
            execute::Outcome::Done => Err(HostError::Trapped {
                canister: canister.to_string(),
                method: method.to_string(),
                message: "the query did not reply".to_string(),
            }),
        }
    }

    /// The status of ticket `seq`.
    ///
    /// # Errors
    ///
    /// sled's error if the store cannot be read.
    pub fn status(&self, seq: u64) -> Result<Status, HostError> {
        let tree = self.reader.tree();
        let finished = |committed: &Finished| -> Result<Option<Status>, HostError> {
            // Outcome invariant A: a committed call is done unless its record says
            // otherwise; the record was written in the batch that committed it.
            if seq == 0 || !committed.contains(seq) {
                return Ok(None);
            }
            let outcome = outcome::get(tree, seq)?.unwrap_or(Outcome::Done);
            Ok(Some(Status::Finished(outcome)))
        };
        let committed = self.reader.finished()?;
        if let Some(status) = finished(&committed)? {
            return Ok(status);
        }
        if queue::contains(tree, seq, committed.last())? {
            return Ok(Status::Pending);
        }
        // Committed between the two reads, and its chunk removed with it.
        if let Some(status) = finished(&self.reader.finished()?)? {
            return Ok(status);
        }
        Ok(Status::Unknown)
    }

    /// The committed state root.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub fn root(&self) -> Result<Root, HostError> {
        Ok(self.reader.root()?)
    }

    /// Compiles `wasm` for an install to come, on the calling thread: the engine compiles a
    /// module once and keeps it, so the install itself, on the thread that runs rounds,
    /// then finds it compiled instead of holding the rounds up for cranelift.
    ///
    /// # Errors
    ///
    /// [`HostError::Execute`] if `wasm` does not compile or fails the import checks, as the
    /// install would.
    pub fn precompile(&self, wasm: &[u8]) -> Result<(), HostError> {
        self.registry.compile(&self.engine, wasm)?;
        Ok(())
    }

    /// The state of canister `name` as JSON: `{"counters":{..},"maps":{..},"lists":{..}}`,
    /// names, keys and values as hex, counter values as decimal strings, in a stable order.
    /// [`crate::dump::readable`] turns it into the form `commute dump` prints.
    ///
    /// # Errors
    ///
    /// [`HostError::Submit`] if no such canister; store errors.
    pub fn dump(&self, name: &str) -> Result<serde_json::Value, HostError> {
        if self.registry.get(name).is_none() {
            return Err(SubmitError::UnknownCanister(name.to_string()).into());
        }
        type Named<T> = BTreeMap<String, T>;
        let mut counters: Named<Named<String>> = BTreeMap::new();
        let mut maps: Named<Named<String>> = BTreeMap::new();
        let mut lists: Named<Vec<String>> = BTreeMap::new();
        for entry in self.reader.entries(name) {
            match entry? {
                Entry::Counter { name, key, value } => {
                    counters
                        .entry(hex::encode(name))
                        .or_default()
                        .insert(hex::encode(key), value.to_string());
                }
                Entry::Map { name, key, value } => {
                    maps.entry(hex::encode(name))
                        .or_default()
                        .insert(hex::encode(key), hex::encode(value));
                }
                Entry::List { name, value, .. } => {
                    lists
                        .entry(hex::encode(name))
                        .or_default()
                        .push(hex::encode(value));
                }
            }
        }
        Ok(serde_json::json!({ "counters": counters, "maps": maps, "lists": lists }))
    }
}
