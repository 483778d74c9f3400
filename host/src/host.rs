//! [`Host`]: the library's front door, shaped like PocketIC — open a host on a directory
//! (or a temporary one), install canisters, submit and call, tick, read tickets and roots.
//!
//! The host owns the sled directory: one process at a time (sled locks it). Every method
//! that changes state commits atomically and flushes before it returns.

use crate::commit::{self, Committer, Ran};
use crate::disk::Disk;
use crate::execute::{self, Engine, ExecuteError, Limits};
use crate::finished::Finished;
use crate::outcome::{self, Outcome, Status};
use crate::query::{reply, Queries, Reply};
use crate::queue::{self, CallKind, QueueError, QueuedCall, Tail};
use crate::registry::{self, Canister, Record, Registry, RegistryError};
use crate::root::Root;
use crate::round::budget::{self, Costs, Plan};
use crate::round::{self, PoolTime, RoundError, RoundReport};
use crate::schedule::{Schedule, Trace};
use crate::store::faults::Faults;
use crate::store::{StateReader, Store, StoreError};
use crate::submit::{now_nanos, Args, Intake, SubmitError};
use crate::wasm_did;
use candid::Principal;
use commute_did::{custom_section_text, Did, DidError, Mode};
use rayon::prelude::*;
use serde_bytes::ByteBuf;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;

/// Something the host was asked to do failed; what was committed before stays committed.
#[derive(Debug, Error)]
pub enum HostError {
    /// Another process holds the data directory.
    #[error("data dir {0} is in use by another commute process")]
    InUse(PathBuf),
    /// A change to canister `name` was asked by a principal that is not one of its
    /// controllers (they may have changed since the request was checked).
    #[error("the sender is not a controller of canister `{name}`")]
    NotController {
        /// The canister.
        name: String,
    },
    /// The data directory could not be opened.
    #[error("cannot open the data dir {dir}: {error}")]
    Open {
        /// The directory.
        dir: PathBuf,
        /// What sled said.
        error: sled::Error,
    },
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A round failed.
    #[error(transparent)]
    Round(#[from] RoundError),
    /// A call was refused before it was accepted.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// The engine could not be set up, or a module failed its checks.
    #[error(transparent)]
    Execute(#[from] ExecuteError),
    /// The `.did` is invalid.
    #[error(transparent)]
    Did(#[from] DidError),
    /// An install was refused.
    #[error("install `{name}` refused: {reason}")]
    Install {
        /// The canister name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A query or update trapped.
    #[error("`{canister}.{method}` trapped: {message}")]
    Trapped {
        /// The canister.
        canister: String,
        /// The method.
        method: String,
        /// The trap message.
        message: String,
    },
}

/// A hook run on the worker thread before each pure call of a round, given the call's
/// seq. For tests that perturb completion order on purpose; it must not touch the host.
pub type Perturb = Arc<dyn Fn(u64) + Send + Sync>;

/// How a host runs calls.
#[derive(Clone)]
pub struct Config {
    /// Per-call limits (`docs/limits.md`).
    pub limits: Limits,
    /// The most calls one round takes.
    pub max_round_calls: usize,
    /// The most accepted calls that may wait uncommitted; a submit past it is refused with
    /// [`QueueError::Full`] and the caller retries later.
    pub max_pending: u64,
    /// Worker threads for pure rounds; the machine's cores by default.
    pub threads: usize,
    /// Record when each call of a round became ready, started and ended
    /// ([`Host::last_trace`]).
    pub trace: bool,
    /// See [`Perturb`]; `None` outside tests.
    pub perturb: Option<Perturb>,
    /// How many bytes of journals since the last checkpoint call for the next, at least;
    /// the state's own size counts too, so a checkpoint never costs more than the journals
    /// it replaces. 0: a checkpoint after every round (for tests of that path).
    pub checkpoint_bytes: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("limits", &self.limits)
            .field("max_round_calls", &self.max_round_calls)
            .field("max_pending", &self.max_pending)
            .field("threads", &self.threads)
            .field("trace", &self.trace)
            .field("perturb", &self.perturb.is_some())
            .field("checkpoint_bytes", &self.checkpoint_bytes)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            max_round_calls: 10_000,
            max_pending: 1_000_000,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            trace: false,
            perturb: None,
            checkpoint_bytes: crate::store::CHECKPOINT_BYTES,
        }
    }
}

/// How long an open waits for a data dir whose lock is held before it says the dir is in
/// use.
const IN_USE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// A commute host over one data directory.
pub struct Host {
    _db: sled::Db,
    store: Store,
    engine: Engine,
    registry: Arc<Registry>,
    intake: Intake,
    config: Config,
    round: u64,
    pool: Arc<rayon::ThreadPool>,
    /// What calls cost lately, for the rounds' budget.
    costs: Costs,
    /// Whether the last round taken left an update that could have run (`Taken::update_waits`).
    update_waits: AtomicBool,
    /// How long rounds spent split across the pool outside their calls.
    pool_time: PoolTime,
    last_trace: Option<(Schedule, Trace)>,
    /// The data dir, absolute.
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

/// Works around sled 0.34.7 refusing to open after a kill during a snapshot (its issue
/// #1527): it writes a snapshot to `snap.LSN.generating`, then renames it, but on open it
/// reads the newest `snap.*` file, an unfinished one included, and calls its bad checksum
/// corruption. An unfinished snapshot was never used: without it the directory is exactly
/// what a kill just before the snapshot began would have left, which sled recovers from.
/// Only called after sled failed to open `dir` (so no process holds it). Returns whether
/// anything was removed.
fn remove_unfinished_snapshots(dir: &Path) -> Result<bool, HostError> {
    let io = |e| HostError::Sled(sled::Error::Io(e));
    let mut removed = false;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(&path).map_err(io)?;
            removed = true;
        }
    }
    Ok(removed)
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("intake", &self.intake)
            .field("round", &self.round)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Opens (or creates) the host kept in `dir`, with the default [`Config`].
    ///
    /// # Errors
    ///
    /// [`HostError::InUse`] if another process holds `dir`; others if it is unreadable.
    pub fn open(dir: &Path) -> Result<Host, HostError> {
        Host::open_with(dir, Config::default())
    }

    /// Opens (or creates) the host kept in `dir`.
    ///
    /// # Errors
    ///
    /// As [`Host::open`].
    pub fn open_with(dir: &Path, config: Config) -> Result<Host, HostError> {
        Host::open_faulty(dir, config, Arc::default())
    }

    /// [`Host::open_with`], with the store's commit path cleared by `faults` (a test's
    /// full disk).
    pub(crate) fn open_faulty(
        dir: &Path,
        config: Config,
        faults: Arc<Faults>,
    ) -> Result<Host, HostError> {
        let open_once = || {
            sled::Config::new().path(dir).open().map_err(|e| match e {
                // sled reports a held lock as an `Other` I/O error that says so.
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    HostError::InUse(dir.to_path_buf())
                }
                sled::Error::Corruption { .. } => HostError::Sled(e),
                error => HostError::Open {
                    dir: dir.to_path_buf(),
                    error,
                },
            })
        };
        // A host that was just dropped, or a process that is exiting, holds the lock until
        // sled's I/O threads finish its last writes: wait that out, briefly, as a database
        // waits out a busy lock, before saying the dir is in use.
        let open = || {
            let deadline = std::time::Instant::now() + IN_USE_PATIENCE;
            loop {
                match open_once() {
                    Err(HostError::InUse(_)) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    other => return other,
                }
            }
        };
        let db = match open() {
            Err(HostError::Sled(sled::Error::Corruption { .. }))
                if remove_unfinished_snapshots(dir)? =>
            {
                open()?
            }
            other => other?,
        };
        Host::from_db(db, config, dir, None, faults)
    }

    /// A host on a fresh temporary directory, removed when the host is dropped.
    ///
    /// # Errors
    ///
    /// If the directory cannot be made or the engine cannot be set up.
    ///
    /// ```
    /// let host = commute::Host::temporary().unwrap();
    /// assert_eq!(host.root(), commute::root::Root::empty());
    /// ```
    pub fn temporary() -> Result<Host, HostError> {
        Host::temporary_with(Config::default())
    }

    /// A host on a fresh temporary directory, with `config`.
    ///
    /// # Errors
    ///
    /// As [`Host::temporary`].
    pub fn temporary_with(config: Config) -> Result<Host, HostError> {
        let temp = tempfile::tempdir().map_err(|e| HostError::Sled(sled::Error::Io(e)))?;
        let db = sled::Config::new().path(temp.path()).open()?;
        let dir = temp.path().to_path_buf();
        Host::from_db(db, config, &dir, Some(temp), Arc::default())
    }

    fn from_db(
        db: sled::Db,
        config: Config,
        dir: &Path,
        temp: Option<tempfile::TempDir>,
        faults: Arc<Faults>,
    ) -> Result<Host, HostError> {
        let disk = Some(Arc::new(Disk::new(dir)));
        let mut store = Store::init_with(&db, disk.clone(), faults)?;
        store.checkpoint_after(config.checkpoint_bytes);
        let tree = store.reader().tree().clone();
        // A temporary dir goes with its host: nothing there is worth keeping compiled.
        let modules = temp.is_none().then(|| dir.to_path_buf());
        let registry = Arc::new(Registry::load(store.installed(), modules)?);
        let tail = Tail::open(tree.clone(), store.finished())?.syncing(disk);
        let intake = Intake::new(
            registry.clone(),
            tail,
            config.limits.arg_bytes,
            config.max_pending,
        );
        let round = commit::last_round(&tree)?;
        let engine = registry::engine_for(config.limits)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads.max(1))
            .thread_name(|i| format!("commute-worker-{i}"))
            .build()
            .map_err(|e| HostError::Install {
                name: String::new(),
                reason: format!("cannot start worker threads: {e}"),
            })?;
        let pool = Arc::new(pool);
        Ok(Host {
            _db: db,
            store,
            engine,
            registry,
            intake,
            config,
            round,
            pool,
            costs: Costs::default(),
            update_waits: AtomicBool::new(false),
            pool_time: PoolTime::default(),
            last_trace: None,
            dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
            _temp: temp,
        })
    }

    fn tree(&self) -> &sled::Tree {
        self.store.reader().tree()
    }

    /// The data dir this host keeps its state in, absolute.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// The installed canisters.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The engine calls run on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A handle that accepts calls from any thread while this host runs rounds; it sees
    /// every canister installed, before or after it was made.
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// Installs `wasm` as `name`, with its `.did` (`did` = file name and text) or, without
    /// one, the wasm's: its `icp:public candid:service` section, else what its query
    /// `__get_candid_interface_tmp_hack` replies (`export_candid!()`). The first install runs
    /// `canister_init` (with `init_arg`, Candid text for the service's init arguments);
    /// a re-install keeps the state and runs `canister_post_upgrade` if exported. Pending
    /// calls run first, so the install is ordered after every call accepted before it.
    ///
    /// # Errors
    ///
    /// [`HostError`] naming what is wrong; a refused install leaves nothing behind.
    pub fn install(
        &mut self,
        name: &str,
        wasm: &[u8],
        did: Option<(&str, &str)>,
        init_arg: Option<&str>,
    ) -> Result<(), HostError> {
        self.install_controlled(name, wasm, did, init_arg, None)
    }

    /// [`Host::install`], also setting who controls the canister: the principals that may
    /// upgrade it through the IC interface's management canister (`install_code`).
    /// `None` keeps those it has (none for a first install).
    ///
    /// # Errors
    ///
    /// As [`Host::install`].
    pub fn install_controlled(
        &mut self,
        name: &str,
        wasm: &[u8],
        did: Option<(&str, &str)>,
        init_arg: Option<&str>,
        controllers: Option<&[Principal]>,
    ) -> Result<(), HostError> {
        let refuse = |reason: String| HostError::Install {
            name: name.to_string(),
            reason,
        };
        if !registry::valid_name(name) {
            return Err(refuse(format!(
                "`{name}` is not a canister name ([a-z0-9_-], 1 to 64 characters)"
            )));
        }
        let given = did.map(|(file, text)| Did::parse(file, text)).transpose()?;
        let compiled = self.registry.compile(&self.engine, wasm)?;
        let did = match given {
            Some(did) => did,
            None => self.read_wasm_did(name, wasm, &compiled)?,
        };
        // Before the exports: a method the .did gives another mode than the code's has the
        // wrong export too, and the modes say what went wrong in the author's terms.
        check_modes(wasm, &did).map_err(refuse)?;
        for m in did.interface().methods() {
            let export = m.mode.export_name(&m.name);
            let alt = (m.mode == Mode::CompositeQuery).then(|| Mode::Query.export_name(&m.name));
            if !compiled.has_export(&export) && !alt.is_some_and(|a| compiled.has_export(&a)) {
                return Err(refuse(format!(
                    "method `{}` of the .did has no export `{export}` in the wasm",
                    m.name
                )));
            }
        }
        let first = self.registry.get(name).is_none();
        if !first && init_arg.is_some() {
            return Err(refuse(
                "init arguments are for the first install; a re-install keeps the state and \
                 runs canister_post_upgrade, which takes none"
                    .into(),
            ));
        }
        let hook = if first {
            "canister_init"
        } else {
            "canister_post_upgrade"
        };
        let arg = if first {
            did.interface()
                .encode_init(init_arg)
                .map_err(|e| refuse(e.to_string()))?
        } else {
            candid::encode_args(()).expect("empty args encode")
        };
        let wasm: Arc<[u8]> = wasm.into();
        let controllers = match controllers {
            Some(given) => given.to_vec(),
            None => self
                .registry
                .get(name)
                .map(|c| c.controllers.clone())
                .unwrap_or_default(),
        };
        let mut canister = Canister::new(name, wasm.clone(), &did, Some(compiled.clone()));
        canister.controllers.clone_from(&controllers);
        let record = Record {
            wasm: ByteBuf::from(wasm.to_vec()),
            did: did.standard().to_string(),
            controllers: Some(controllers),
        };
        // Order the hook after everything accepted before it: run what is pending, then
        // hold the tail, so nothing is accepted between the hook's seq and its commit.
        let tail = self.intake.tail().clone();
        loop {
            self.tick(|_| {})?;
            let done = tail.with_next(|next| {
                if *next - 1 > tail.committed() {
                    return Ok(false); // accepted meanwhile: run it first
                }
                self.install_held(&canister, &record, (hook, arg.clone()), next)?;
                Ok::<_, HostError>(true)
            })?;
            if done {
                break;
            }
        }
        Arc::make_mut(&mut self.registry).insert(canister);
        self.intake.set_registry(self.registry.clone());
        Ok(())
    }

    /// The `.did` that `wasm` carries, as an install of it as `name` given no `.did` would
    /// take it: its `icp:public candid:service` section, else what its query
    /// `__get_candid_interface_tmp_hack` replies (`export_candid!()`). Installs nothing.
    ///
    /// # Errors
    ///
    /// [`HostError`] if the wasm does not compile, carries no `.did`, or carries an
    /// invalid one.
    pub fn wasm_did(&self, name: &str, wasm: &[u8]) -> Result<Did, HostError> {
        let compiled = self.registry.compile(&self.engine, wasm)?;
        self.read_wasm_did(name, wasm, &compiled)
    }

    fn read_wasm_did(
        &self,
        name: &str,
        wasm: &[u8],
        compiled: &execute::Compiled,
    ) -> Result<Did, HostError> {
        let runner = wasm_did::Runner {
            engine: &self.engine,
            registry: &self.registry,
            reader: self.store.reader(),
        };
        wasm_did::read(name, wasm, compiled, &runner).map_err(|e| match e {
            wasm_did::WasmDidError::Did(e) => HostError::from(e),
            other => HostError::Install {
                name: name.to_string(),
                reason: other.to_string(),
            },
        })
    }

    /// Runs `hook` of `canister` (if exported) as seq `next` and commits it with the
    /// canister's record; the tail is held and nothing is pending.
    fn install_held(
        &mut self,
        canister: &Canister,
        record: &Record,
        (hook, arg): (&str, Vec<u8>),
        next: &mut u64,
    ) -> Result<(), HostError> {
        let name = canister.name.as_str();
        let compiled = canister.compiled(&self.engine)?;
        let mut ran = None;
        if compiled.has_export(hook) {
            let call = QueuedCall {
                canister: name.to_string(),
                method: hook.to_string(),
                kind: CallKind::Update,
                caller: ByteBuf::from(Principal::anonymous().as_slice().to_vec()),
                arg: ByteBuf::from(arg),
                keys: Vec::new(),
                time: now_nanos(),
            };
            let exec_call = execute::Call {
                canister: name,
                self_principal: canister.principal.as_slice(),
                method: hook,
                export: hook,
                mode: execute::Mode::Init,
                caller: &call.caller,
                arg: &call.arg,
                time: call.time,
            };
            let ex = round::run_call(
                &self.engine,
                &self.registry,
                self.store.reader(),
                compiled,
                &exec_call,
            )?;
            if let execute::Outcome::Trapped(m) = &ex.outcome {
                return Err(HostError::Install {
                    name: name.to_string(),
                    reason: format!("{hook} trapped: {m}"),
                });
            }
            ran = Some((*next, call, ex));
        }
        let (_, mut committer) = self.parts();
        committer.install((name, canister.principal, record), ran, next)?;
        Ok(())
    }

    /// Accepts a fire-and-forget call (a pure update, or a oneway, which runs serially):
    /// checks it, queues it durably, returns its seq (its ticket).
    ///
    /// # Errors
    ///
    /// [`HostError::Submit`] if the call is refused; nothing is queued then.
    pub fn submit(
        &mut self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<u64, HostError> {
        Ok(self.submit_batch(&[(canister, method, args, caller)])?[0])
    }

    /// Accepts many fire-and-forget calls with one flush: all of them or, if any is
    /// refused, none.
    ///
    /// # Errors
    ///
    /// [`HostError::Submit`] for the first refused call; nothing is queued then.
    pub fn submit_batch(
        &mut self,
        calls: &[(&str, &str, Args<'_>, Principal)],
    ) -> Result<Vec<u64>, HostError> {
        let time = now_nanos();
        let check = |&(canister, method, args, caller): &(&str, &str, Args<'_>, Principal)| {
            let call = self.check(canister, method, args, caller, time)?;
            if call.kind == CallKind::Update {
                return Err(SubmitError::WrongMode {
                    canister: canister.to_string(),
                    method: method.to_string(),
                    mode: self.mode_of(canister, method),
                    hint: "it replies: call it to get its reply",
                });
            }
            Ok(call)
        };
        // A check is a function of the call alone, so a large batch is checked on every
        // worker; the calls are then queued in order, and the first refused is reported.
        let checked: Result<Vec<QueuedCall>, SubmitError> =
            if calls.len() < 2 * CHECK_SPLIT_MIN || self.pool.current_num_threads() == 1 {
                calls.iter().map(check).collect()
            } else {
                let all: Vec<_> = (self.pool).install(|| {
                    calls
                        .par_iter()
                        .with_min_len(CHECK_SPLIT_MIN)
                        .map(check)
                        .collect()
                });
                all.into_iter().collect()
            };
        self.enqueue(checked?)
    }

    fn mode_of(&self, canister: &str, method: &str) -> Mode {
        self.registry
            .get(canister)
            .and_then(|c| c.interface.with(|i| i.method(method).map(|m| m.mode)))
            .unwrap_or(Mode::Update)
    }

    fn check(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
        time: u64,
    ) -> Result<QueuedCall, SubmitError> {
        self.intake.check(canister, method, args, caller, time)
    }

    /// Queue invariant A: seqs handed out in order, durable before they are returned.
    fn enqueue(&mut self, calls: Vec<QueuedCall>) -> Result<Vec<u64>, HostError> {
        let seqs = self.intake.append(calls)?;
        self.intake.flush()?;
        Ok(seqs.collect())
    }

    /// Calls an update or oneway method: queues it, runs rounds until it is done, and
    /// returns its reply (`()` for a oneway). A pure method is submitted and run the same
    /// way, returning `()`. Queries are answered at once.
    ///
    /// # Errors
    ///
    /// [`HostError::Submit`] if refused, [`HostError::Trapped`] if it trapped.
    pub fn call(
        &mut self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<Reply, HostError> {
        if matches!(
            self.mode_of(canister, method),
            Mode::Query | Mode::CompositeQuery
        ) {
            return self.query(canister, method, args, caller);
        }
        let call = self.check(canister, method, args, caller, now_nanos())?;
        let seq = self.enqueue(vec![call])?[0];
        while !self.store.finished().contains(seq) {
            if self.tick_round()?.is_none() {
                break;
            }
        }
        match outcome::get(self.tree(), seq)? {
            Some(Outcome::Trapped(message)) => Err(HostError::Trapped {
                canister: canister.to_string(),
                method: method.to_string(),
                message,
            }),
            Some(Outcome::Replied(bytes)) => {
                reply(&self.registry, canister, method, bytes.into_vec())
            }
            _ => reply(
                &self.registry,
                canister,
                method,
                candid::encode_args(()).expect("encodes"),
            ),
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
        self.queries().query(canister, method, args, caller)
    }

    /// A handle that answers queries from any thread, against the last committed state,
    /// without waiting for the round in flight to run (`docs/modes.md`); a query that comes
    /// while a round's writes land waits for them (and, when they land during the round's
    /// flush, for the flush), and then sees the round. It sees the canisters installed
    /// when it was made.
    pub fn queries(&self) -> Queries {
        Queries::new(
            self.store.reader().clone(),
            self.engine.clone(),
            self.registry.clone(),
        )
    }

    /// Runs rounds until nothing is pending, handing each round's report to `report` as
    /// it commits. Returns how many rounds ran.
    ///
    /// Rounds are pipelined: while round k commits, the pure calls of round k + 1 already
    /// run beside it on the same worker pool. A pure call reads no state, so what it does
    /// cannot depend on whether round k has committed; an update or oneway reads state, so
    /// it waits for the commit (the barrier of `docs/modes.md`). Commits stay one at a time,
    /// each canister's calls in seq order, each flushed before it is reported, so every
    /// committed state of a canister is that of a prefix of its calls in seq order, and the
    /// last is what [`Host::tick_round`] in a loop reaches. The rounds may be cut
    /// differently: they shrink as the backlog drains ([`round::backlog_cap`]), and children
    /// queued by round k's commit come after rounds k + 1 and k + 2, which are taken before
    /// that commit lands.
    ///
    /// # Errors
    ///
    /// [`HostError`] if a round cannot commit; the rounds before it stay committed.
    pub fn tick(
        &mut self,
        mut report: impl FnMut(&RoundReport) + Send,
    ) -> Result<usize, HostError> {
        self.tick_until(|r| {
            report(r);
            ControlFlow::Continue(())
        })
    }

    /// [`Host::tick`], stopped early when `report` breaks: the round that already ran
    /// beside the reported commit commits too, the round taken after it is left pending,
    /// and no further round is taken. A server drives its rounds with this, so that an
    /// install, an update or a stop waits for at most two commits, not for the backlog.
    /// `report` runs on a worker of the host's pool: the whole tick does, so that its steps
    /// hand nothing from one thread to another.
    ///
    /// # Errors
    ///
    /// As [`Host::tick`].
    pub fn tick_until(
        &mut self,
        report: impl FnMut(&RoundReport) -> ControlFlow<()> + Send,
    ) -> Result<usize, HostError> {
        // Each step of a round (the run, the commit) entered from outside the pool woke a
        // worker and put this thread to sleep, and its return woke this thread again.
        // Entered once: 1,000 `analytics.view` calls a tick in rounds of 50, 21 ticks,
        // switched context 7,635–7,743 times before and 6,813–7,118 after at 1 thread,
        // 9,571–10,936 and 8,042–8,526 at 2 (`perf stat`, three runs each).
        self.on_pool(|host| host.tick_on_pool(report))
    }

    /// [`Host::tick_until`], on a worker of the pool.
    fn tick_on_pool(
        &mut self,
        mut report: impl FnMut(&RoundReport) -> ControlFlow<()>,
    ) -> Result<usize, HostError> {
        let mut rounds = 0;
        let mut stop = false;
        // The round that ran and awaits its commit.
        let mut ran: Option<Ran> = None;
        // The round after it, when already taken beside the commit before.
        let mut taken: Option<Option<Taken>> = None;
        loop {
            let next = match taken.take() {
                Some(next) => next,
                None => {
                    let done = done(&self.store, ran.iter().flat_map(Ran::seqs));
                    self.take(&done, Cut::backlog(&self.pool))?
                }
            };
            let Some(ready) = ran.take() else {
                match next {
                    Some(next) => ran = Some(self.execute(next)?),
                    None => break,
                }
                continue;
            };
            ran = match next {
                // Asked to stop: the round that ran commits, what was taken stays pending.
                _ if stop => {
                    // Its report cannot stop more than is stopping already.
                    let _ = report(&self.commit(ready)?);
                    rounds += 1;
                    break;
                }
                // Pure calls run while the round before them commits, and the round after
                // them is taken there too.
                Some(next) if next.pure() => {
                    let (committed, executed) =
                        self.on_pool(|host| host.commit_beside(ready, next));
                    stop = report(&committed?).is_break();
                    rounds += 1;
                    let (executed, after) = executed?;
                    taken = Some(after);
                    Some(executed)
                }
                // An update waits for the commit: it reads the state.
                Some(next) => {
                    rounds += 1;
                    if report(&self.commit(ready)?).is_break() {
                        break;
                    }
                    Some(self.execute(next)?)
                }
                // The commit may queue children: look again after it.
                None => {
                    rounds += 1;
                    if report(&self.commit(ready)?).is_break() {
                        break;
                    }
                    None
                }
            };
        }
        Ok(rounds)
    }

    /// Runs one round, if anything is pending.
    ///
    /// # Errors
    ///
    /// [`HostError`] if the round cannot commit; nothing of it is committed then.
    pub fn tick_round(&mut self) -> Result<Option<RoundReport>, HostError> {
        let Some(taken) = self.take(&done(&self.store, []), Cut::Full)? else {
            return Ok(None);
        };
        let ran = self.execute(taken)?;
        self.commit(ran).map(Some)
    }

    /// The calls of the next round: pending calls that `done` (the calls committed, or run
    /// and about to be) leaves, cut by `cut`; none if nothing is pending.
    fn take(&self, done: &Finished, cut: Cut) -> Result<Option<Taken>, HostError> {
        // A broken store has already counted the calls of the round that broke it as
        // finished: it refuses instead of finding nothing to do.
        self.store.working()?;
        let bound = self.intake.tail().next_seq();
        self.executor().take(done, cut, bound)
    }

    /// What runs a round, when nothing commits beside it.
    fn executor(&self) -> Executor<'_> {
        Executor {
            engine: &self.engine,
            registry: &self.registry,
            reader: self.store.reader().clone(),
            tail: self.intake.tail(),
            config: &self.config,
            pool: &self.pool,
            costs: &self.costs,
            update_waits: &self.update_waits,
            pool_time: &self.pool_time,
        }
    }

    /// Runs `taken` against the committed state.
    fn execute(&mut self, taken: Taken) -> Result<Ran, HostError> {
        self.on_pool(|host| host.parts().0.run(taken))
    }

    /// Commits `ran` as the next round, flushed.
    fn commit(&mut self, ran: Ran) -> Result<RoundReport, HostError> {
        self.on_pool(|host| {
            let (committed, trace) = host.parts().1.commit(ran);
            host.committed(committed, trace)
        })
    }

    /// Runs `step` on a worker of the pool. Entered from outside, each parallel phase of a
    /// round (the calls, the fold, the preparation, the apply) would wake a sleeping worker,
    /// put this thread to sleep and leave the worker spinning: about half of what a round
    /// of a few dozen calls costs beyond its calls. Entered once, the phases run inline.
    fn on_pool<R: Send>(&mut self, step: impl FnOnce(&mut Host) -> R + Send) -> R {
        let pool = Arc::clone(&self.pool);
        pool.install(|| step(self))
    }

    /// Prepares, writes, flushes and applies `ready`'s commit while the pure calls of
    /// `next` run on the same pool, and the round after `next` is taken once they have.
    /// `ready` is reported once both are done. With one worker there is nothing to overlap
    /// but the flush, which waits on the disk on a thread of its own while `next` runs (a
    /// `join` on one worker gives the same order, and measured 3–16% slower). Called on a
    /// worker ([`Host::on_pool`]).
    ///
    /// Committing `ready` whole beside `next`, instead of applying it after `next` ran,
    /// took 3,000 logging calls in rounds of 1,000 at 2 threads from 31.5 to 29.7 ms
    /// (medians of 12 interleaved runs of 15 ticks each); preparing it there too, instead
    /// of on every worker before `next` started, from 41.1 to 36.7 ms (16 runs).
    /// `docs/bench.md` has the forms tried on the way.
    fn commit_beside(
        &mut self,
        ready: Ran,
        next: Taken,
    ) -> (
        Result<RoundReport, HostError>,
        Result<RanAndNext, HostError>,
    ) {
        let (executor, mut committer) = self.parts();
        // The round after `next` is taken beside the commit, from the calls accepted before
        // it: the commit hands seqs to `ready`'s children under the tail lock but writes
        // their queue chunks only once flushed, so a bound read later could let that take
        // see calls accepted after the children while the children are not yet visible,
        // and run them out of seq order.
        let bound = executor.tail.next_seq();
        let next_seqs = next.calls.iter().map(|(seq, _)| *seq);
        let done = done(committer.store, ready.seqs().chain(next_seqs));
        // After the run, not beside it: the take plans its round with the costs this one
        // just taught (budget invariant B). Beside the apply of `ready`, which it does not
        // read: it skips `ready`'s calls by `done`, whether or not their chunks are gone.
        let take = || executor.take(&done, Cut::backlog(executor.pool), bound);
        let one = executor.pool.current_num_threads() == 1;
        // `next` runs, then the round after it is taken.
        let run = || {
            let ran = executor.run(next);
            let after = ran.is_ok().then(take);
            (ran, after)
        };
        let ((committed, trace), (ran, after)) = if one {
            let prepared = committer.prepare(ready);
            let (flushing, trace) = committer.commit_flushing(prepared);
            let ran = run();
            ((flushing.and_then(|f| committer.flushed(f)), trace), ran)
        } else {
            // The whole commit beside the round, its flush and apply included: pure
            // calls read no state, so they need neither. Prepared there too: before
            // the round, on every worker, its serial parts (list positions, the
            // batch) left the other workers waiting, ~7% of a tick of logging calls
            // at 2 threads; a worker with nothing else to do still takes a share of
            // it (`Store::prepare` splits it across the pool). Where its flush and
            // apply run depends on its size (`Committer::commit_beside`).
            executor
                .pool
                .install(|| rayon::join(|| committer.commit_beside(committer.prepare(ready)), run))
        };
        let executed = ran.and_then(|ran| Ok((ran, after.transpose()?.flatten())));
        (self.committed(committed, trace), executed)
    }

    /// The host split into what runs a round (reading only) and what commits one.
    fn parts(&mut self) -> (Executor<'_>, Committer<'_>) {
        let Host {
            store,
            engine,
            registry,
            intake,
            config,
            round,
            pool,
            costs,
            update_waits,
            pool_time,
            ..
        } = self;
        let registry: &Registry = registry;
        let executor = Executor {
            engine,
            registry,
            reader: store.reader().clone(),
            tail: intake.tail(),
            config,
            pool,
            costs,
            update_waits,
            pool_time,
        };
        let committer = Committer {
            store,
            pool,
            pool_time,
            registry,
            tail: intake.tail(),
            arg_bytes: config.limits.arg_bytes,
            round: *round + 1,
        };
        (executor, committer)
    }

    /// Counts a round that committed, and keeps its trace.
    fn committed(
        &mut self,
        committed: Result<RoundReport, RoundError>,
        trace: Option<(Schedule, Trace)>,
    ) -> Result<RoundReport, HostError> {
        let report = committed?;
        self.round += 1;
        self.last_trace = trace;
        Ok(report)
    }

    /// How long this host's rounds have spent, since it opened, in the parts split across
    /// its pool besides their calls: merging the write logs, preparing and applying the
    /// commits, less the apply's wait for the end of its flush ([`PoolTime`]). In a
    /// pipelined tick a large commit's apply beside the next round also counts the calls
    /// its workers ran while waiting for their shares of it; the one-round host that
    /// `commute bench` reads this from commits alone.
    pub fn pool_time(&self) -> std::time::Duration {
        self.pool_time.total()
    }

    /// The DAG and trace of the last round, when [`Config::trace`] is on.
    pub fn last_trace(&self) -> Option<&(Schedule, Trace)> {
        self.last_trace.as_ref()
    }

    /// The configuration this host runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The status of ticket `seq`.
    ///
    /// # Errors
    ///
    /// sled's error if the store cannot be read.
    pub fn status(&self, seq: u64) -> Result<Status, HostError> {
        self.queries().status(seq)
    }

    /// The accepted calls not yet committed, in seq order.
    ///
    /// # Errors
    ///
    /// [`HostError::Queue`] if the queue cannot be read.
    pub fn pending(&self) -> Result<Vec<(u64, QueuedCall)>, HostError> {
        let committed = self.store.finished().clone();
        Ok(queue::pending(self.tree(), committed).collect::<Result<_, _>>()?)
    }

    /// The state root.
    pub fn root(&self) -> Root {
        self.store.root()
    }

    /// The state of canister `name` as JSON ([`Queries::dump`]).
    ///
    /// # Errors
    ///
    /// [`HostError::Submit`] if no such canister; store errors.
    pub fn dump(&self, name: &str) -> Result<serde_json::Value, HostError> {
        self.queries().dump(name)
    }
}

/// Refuses a `.did` that gives a method another mode than the wasm was compiled for, as
/// the SDK's macros record it (`commute:modes`): `update`, `oneway` and `pure_update` share
/// one export name, so nothing else tells them apart before a call traps. A wasm without
/// the record (not built with the SDK) is not checked.
fn check_modes(wasm: &[u8], did: &Did) -> Result<(), String> {
    use commute_abi::{export, Mode as Built};
    let Some(text) = custom_section_text(wasm, export::MODES_SECTION).map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let records = export::parse_modes(&text).map_err(|line| {
        let line: String = line.chars().take(80).collect();
        format!(
            "the wasm's `{}` section has a record that is not `MODE NAME`: `{line}`",
            export::MODES_SECTION
        )
    })?;
    for (built, method) in records {
        let Some(declared) = did.interface().method(method).map(|m| m.mode) else {
            continue;
        };
        let agree = match built {
            Built::PureUpdate => declared == Mode::PureUpdate,
            Built::Update => matches!(declared, Mode::Update | Mode::Oneway),
            Built::Oneway => declared == Mode::Oneway,
            Built::Query => matches!(declared, Mode::Query | Mode::CompositeQuery),
            Built::Init => true,
        };
        if !agree {
            return Err(format!(
                "method `{method}` is `{declared}` in the .did but the wasm was compiled with \
                 #[{built}]: the two must agree"
            ));
        }
    }
    Ok(())
}

/// A round's calls, taken from the queue.
struct Taken {
    started: Instant,
    calls: Vec<(u64, QueuedCall)>,
    /// The queue chunks its commit removes.
    spent: Vec<u64>,
}

impl Taken {
    /// Whether it is a round of pure calls, which read no state.
    fn pure(&self) -> bool {
        self.calls.iter().all(|(_, c)| c.kind == CallKind::Pure)
    }
}

/// A round that ran, and the round after it (none if nothing was pending).
type RanAndNext = (Ran, Option<Taken>);

/// The fewest calls of a [`Host::submit_batch`] a worker checks at a time; a batch of fewer
/// than two such groups is checked on the calling thread: below that, waking the workers
/// costs more than the checks (a logging call's is ~1 µs).
const CHECK_SPLIT_MIN: usize = 64;

/// How many calls a round takes, given how many are pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// As many as a round may hold.
    Full,
    /// Half of what is pending, within [`round::backlog_cap`]'s bounds: a pipelined tick's
    /// rounds shrink as its backlog does. On one worker no round runs beside a commit, so
    /// there this is [`Cut::Full`].
    Backlog,
}

impl Cut {
    /// How a pipelined tick on `pool` cuts its rounds.
    fn backlog(pool: &rayon::ThreadPool) -> Cut {
        if pool.current_num_threads() > 1 {
            Cut::Backlog
        } else {
            Cut::Full
        }
    }

    /// The most calls the round takes, with rounds of at most `max` and `pending` calls
    /// waiting.
    fn cap(self, max: usize, pending: u64) -> usize {
        match self {
            Cut::Full => max,
            Cut::Backlog => round::backlog_cap(max, pending),
        }
    }
}

/// The calls a take leaves: those committed in `store`, and `in_flight`, the calls of the
/// rounds that ran (or run) and commit before the one taken.
fn done(store: &Store, in_flight: impl IntoIterator<Item = u64>) -> Finished {
    let mut done = store.finished().clone();
    done.finish(in_flight);
    done
}

/// What running a round needs: the host's parts that only read.
struct Executor<'a> {
    engine: &'a Engine,
    registry: &'a Registry,
    reader: StateReader,
    /// Where the next round is taken from.
    tail: &'a Tail,
    config: &'a Config,
    pool: &'a rayon::ThreadPool,
    costs: &'a Costs,
    update_waits: &'a AtomicBool,
    pool_time: &'a PoolTime,
}

impl Executor<'_> {
    /// The calls of the next round: pending calls that `done` leaves, below `bound` (a
    /// [`Tail::next_seq`]), in rounds of at most `max_round_calls` cut by `cut` and within
    /// the fuel budget; none if nothing is pending. After a round that left an update
    /// waiting, the update goes first.
    fn take(&self, done: &Finished, cut: Cut, bound: u64) -> Result<Option<Taken>, HostError> {
        // Every seq below `bound` done: nothing to read the queue for. The last take of a
        // tick, which read back the last chunk of the round just run: 2,000 view calls a
        // tick at 1 thread, from the fold to the commit, medians 172–190 µs before, 133–178
        // µs after.
        if done.last() >= bound - 1 {
            return Ok(None);
        }
        let started = Instant::now();
        let tree = self.reader.tree();
        let mut taken = round::Taken::default();
        if self.update_waits.load(Ordering::Relaxed) {
            taken = round::next_update((tree, Some(self.tail.fresh())), done, bound)?;
        }
        if taken.calls.is_empty() {
            let pending = (bound - 1).saturating_sub(done.count());
            let cap = cut.cap(self.config.max_round_calls, pending);
            let limit = self.config.limits.fuel;
            let fuel = limit.saturating_mul(budget::ROUND_FUEL_CALLS);
            let threads = self.pool.current_num_threads();
            let mut plan = Plan::new(self.costs, (fuel, limit), threads);
            let queue = (tree, Some(self.tail.fresh()));
            taken = round::next_calls(queue, cap, done, bound, &mut plan)?;
        }
        self.update_waits
            .store(taken.update_waits, Ordering::Relaxed);
        let round::Taken { calls, spent, .. } = taken;
        Ok((!calls.is_empty()).then_some(Taken {
            started,
            calls,
            spent,
        }))
    }

    /// Runs a round's calls: pure calls on the pool along the key DAG; an update round is
    /// one call.
    fn run(&self, taken: Taken) -> Result<Ran, HostError> {
        let Taken {
            started,
            calls,
            spent,
        } = taken;
        let keys: Vec<Vec<(&str, &[u8])>> = calls
            .iter()
            .map(|(_, c)| {
                c.keys
                    .iter()
                    .map(|k| (c.canister.as_str(), k.as_slice()))
                    .collect()
            })
            .collect();
        let schedule = Schedule::build(&keys);
        let (targets, which) = round::targets(self.registry, &calls);
        round::compile(self.engine, &targets);
        let (executions, trace) = schedule.run(
            self.pool,
            |i| {
                let (seq, call) = &calls[i];
                if let Some(hook) = self.config.perturb.as_deref() {
                    hook(*seq);
                }
                let target = &targets[which[i]];
                round::execute(self.engine, self.registry, &self.reader, call, target)
            },
            self.config.trace,
        );
        let mut ran = Vec::with_capacity(calls.len());
        for ((seq, call), ex) in calls.into_iter().zip(executions) {
            let ex = ex.map_err(|error| RoundError::Execute { seq, error })?;
            ran.push((seq, call, ex));
        }
        self.costs.learn(&ran);
        let delta = self
            .pool_time
            .install(self.pool, || round::merge(&mut ran))
            .map_err(RoundError::from)?;
        Ok(Ran {
            started,
            ran,
            delta,
            spent,
            trace: trace.map(|t| (schedule, t)),
        })
    }
}

#[cfg(test)]
mod full_disk;
