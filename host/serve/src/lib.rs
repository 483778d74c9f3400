//! `commute serve`: a long-running host that callers in other processes fire calls at over
//! HTTP, running rounds continuously as calls arrive (docs/http.md), like the IC replica or
//! the PocketIC server. It answers two interfaces from the same handlers' state: the JSON
//! API ([`api`], for curl, scripts and the CLI's [`client`]) and the Internet Computer's
//! ([`ic`], for `@dfinity/agent`, `ic-agent` and `dfx`, with verified senders and
//! certificates). The engine is the `commute` crate; this one adds the server.
//!
//! Three kinds of threads share one [`Host`]'s store:
//!
//! - tokio workers answer HTTP ([`api`]) on connections that are tasks, not threads
//!   (`connection`): they check calls and answer reads of committed state (queries, ticket
//!   status, root, dump) themselves, and hand the rest on;
//! - the acceptor ([`accept`]) appends checked calls to the queue and flushes once for
//!   every call waiting (group commit), then answers each with its seq;
//! - the round thread ([`rounds`]) owns the `Host`: a round starts as soon as calls are
//!   pending and the last round is committed; installs and updates run between rounds.
//!
//! # Invariants
//!
//! - (A) A seq is answered only once its call is durable (acceptor invariant A), so a
//!   SIGKILL loses no answered call; the queue and the round commits are sled's, and a
//!   restart re-runs what was not committed (docs/http.md, durability).
//! - (B) An idle server blocks: no thread polls.
//! - (C) Stopping (SIGINT, SIGTERM or [`Server::stop`]): the listener stops taking
//!   connections and the requests in flight are answered (those not done within [`GRACE`]
//!   are dropped: their calls were not answered, so not promised); then the acceptor drains; then
//!   the round thread finishes the round in flight, which commits and flushes; then the
//!   host closes.

mod accept;
pub mod api;
mod body;
pub mod client;
mod config;
mod connection;
mod guard;
pub mod ic;
mod rounds;
mod token;
pub mod wire;

pub use config::ServeConfig;
pub use token::TOKEN_FILE;

use commute::host::{Host, HostError};
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, RwLock};
use std::thread::JoinHandle;
use thiserror::Error;
use tokio::sync::{oneshot, watch};

/// How long a stopping server waits for the requests in flight before it drops their
/// connections.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The server could not start, or stopped on a failure.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// Threads or the async runtime could not be started, or HTTP failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// The operator's token could not be written to the data dir.
    #[error("{path}: cannot write the server's token: {error}")]
    Token {
        /// The token file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The host failed while running rounds.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The queue could not be flushed while accepting calls.
    #[error("accepting calls: {0}")]
    Accept(String),
    /// The IC interface's keys could not be read or made.
    #[error("IC keys: {0}")]
    Keys(#[from] ic::KeyError),
    /// A server thread panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// Whether the server stops on SIGINT and SIGTERM (as `commute serve` does) or only when
/// told ([`Server::stop`]; for tests and benchmarks in one process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signals {
    /// SIGINT and SIGTERM stop the server.
    Handle,
    /// Only [`Server::stop`] does.
    Ignore,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    http: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port) and starts serving `host`, with the
    /// default [`ServeConfig`].
    ///
    /// # Errors
    ///
    /// As [`Server::start_with`].
    pub fn start(host: Host, listen: SocketAddr, signals: Signals) -> Result<Server, ServeError> {
        Server::start_with(host, listen, signals, ServeConfig::default())
    }

    /// Binds `listen` (port 0 picks a free port) and starts serving `host` under `config`.
    /// A fresh token goes to [`TOKEN_FILE`] in the data dir, readable by its owner only:
    /// installs and dumps need it ([`Server::token`]).
    ///
    /// # Errors
    ///
    /// [`ServeError::Bind`] if the address is taken or not local; [`ServeError::Token`] if
    /// the token cannot be written; [`ServeError::Io`].
    pub fn start_with(
        host: Host,
        listen: SocketAddr,
        signals: Signals,
        config: ServeConfig,
    ) -> Result<Server, ServeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("commute-http")
            // Handlers parse Candid text; its depth is bounded for this stack.
            .thread_stack_size(commute_did::PARSER_STACK_BYTES)
            .build()?;
        // Binding and the signal handlers register with the runtime.
        let entered = runtime.enter();
        let listener = connection::bind(listen).map_err(|error| ServeError::Bind {
            addr: listen,
            error,
        })?;
        let addr = listener.local_addr()?;
        let token = token::Token::create(host.data_dir()).map_err(|error| ServeError::Token {
            path: host.data_dir().join(TOKEN_FILE).display().to_string(),
            error,
        })?;
        let token_text = token.text().to_string();
        let keys = ic::Keys::load_or_create(host.data_dir())?;
        // Handlers in place before the address is known to anyone, so an early SIGTERM
        // still stops the server cleanly.
        let signal = Signal::new(signals)?;
        drop(entered);
        let max_arg_bytes = host.config().limits.arg_bytes;
        let data_dir = host.data_dir().display().to_string();
        let intake = host.intake().clone();
        let queries = Arc::new(RwLock::new(host.queries()));
        let (commits_tx, commits) = watch::channel(0);
        let (stopping_tx, stopping) = watch::channel(false);
        let (failed_tx, mut failed) = watch::channel(None::<String>);
        let failed_tx = Arc::new(failed_tx);
        let (rounds_tx, rounds_rx) = mpsc::channel();
        let (accept_tx, accept_rx) = mpsc::channel();

        let published = rounds::Published {
            commits: commits_tx,
            queries: queries.clone(),
        };
        let round_failed = failed_tx.clone();
        let round_thread = std::thread::Builder::new()
            .name("commute-rounds".into())
            // Installs parse `.did` files and init arguments here.
            .stack_size(commute_did::PARSER_STACK_BYTES)
            .spawn(move || {
                let result = rounds::run(host, rounds_rx, &published);
                if let Err(e) = &result {
                    round_failed.send_replace(Some(e.to_string()));
                }
                result
            })?;
        let acceptor = {
            let (intake, rounds) = (intake.clone(), rounds_tx.clone());
            std::thread::Builder::new()
                .name("commute-accept".into())
                .spawn(move || {
                    let result = accept::run(&intake, &accept_rx, &rounds);
                    if let Err(e) = &result {
                        failed_tx.send_replace(Some(e.clone()));
                    }
                    result
                })?
        };
        let shared = Arc::new(api::Shared {
            intake,
            queries,
            accept: accept_tx,
            rounds: rounds_tx.clone(),
            commits,
            stopping,
            max_arg_bytes,
            data_dir,
            body_budget: tokio::sync::Semaphore::new(api::BODY_BUDGET_KIB),
            body_timeouts: (config.body_idle_timeout, config.body_timeout),
            addr,
            token,
            ic: ic::Ic::new(keys),
            json_caller: config.json_caller,
        });
        let app = api::router(shared);
        let (stop, stop_rx) = oneshot::channel::<()>();

        let http = std::thread::Builder::new()
            .name("commute-serve".into())
            .spawn(move || {
                let mut stopped = stopping_tx.subscribe();
                let served = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let shutdown = async move {
                        tokio::select! {
                            _ = stop_rx => {}
                            () = signal.recv() => force_exit_on_second_signal(signals),
                            _ = failed.wait_for(Option::is_some) => {}
                        }
                        // Wake the handlers that wait on tickets (invariant C).
                        stopping_tx.send_replace(true);
                    };
                    let serving = connection::serve(listener, app, config, shutdown);
                    tokio::select! {
                        () = serving => Ok::<(), std::io::Error>(()),
                        // A client that never finishes its request must not hold the
                        // stop up forever: past the grace period its connection drops.
                        () = async {
                            let _ = stopped.wait_for(|s| *s).await;
                            tokio::time::sleep(GRACE).await;
                        } => Ok(()),
                    }
                });
                // The router, and with it every sender to the acceptor, is gone: it drains
                // and ends. Then the round thread finishes its round (invariant C).
                drop(runtime);
                let acceptor = acceptor.join().map_err(|_| ServeError::Panicked("accept"));
                let _ = rounds_tx.send(rounds::Job::Stop);
                drop(rounds_tx);
                let rounds = round_thread
                    .join()
                    .map_err(|_| ServeError::Panicked("round"))?;
                acceptor?.map_err(ServeError::Accept)?;
                rounds?;
                served?;
                Ok(())
            })?;
        Ok(Server {
            addr,
            token: token_text,
            stop: Some(stop),
            http: Some(http),
        })
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token installs and dumps need (`Authorization: Bearer TOKEN`), as written to
    /// [`TOKEN_FILE`] in the data dir.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `http://ADDR`, the base of every endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops as SIGTERM does (invariant C) and waits until the host is closed.
    ///
    /// # Errors
    ///
    /// What stopped the server, if it failed.
    pub fn stop(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join()
    }

    /// Waits until the server stops: on SIGINT or SIGTERM with [`Signals::Handle`], or on
    /// a failure.
    ///
    /// # Errors
    ///
    /// What stopped the server, if it failed.
    pub fn wait(mut self) -> Result<(), ServeError> {
        self.join()
    }

    fn join(&mut self) -> Result<(), ServeError> {
        match self.http.take() {
            Some(http) => http.join().map_err(|_| ServeError::Panicked("serve"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.join();
    }
}

/// After the first SIGINT or SIGTERM the server finishes its round, which may take a while;
/// a second one exits at once, as a SIGKILL would, which loses no accepted call: the round
/// runs again at the next start.
fn force_exit_on_second_signal(signals: Signals) {
    if signals == Signals::Ignore {
        return;
    }
    // Its own thread and runtime: the server's runtime is dropped before the round ends.
    let _ = std::thread::Builder::new()
        .name("commute-signal".into())
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async {
                let signal = {
                    let Ok(signal) = Signal::new(Signals::Handle) else {
                        return;
                    };
                    signal
                };
                // Said once the second signal is handled, not before.
                eprintln!("stopping: finishing the round in flight (signal again to exit now)");
                signal.recv().await;
                std::process::exit(130);
            });
        });
}

/// SIGINT and SIGTERM, when the server handles them.
struct Signal {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signal {
    /// Registers the handlers; inside the runtime.
    fn new(signals: Signals) -> std::io::Result<Signal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = match signals {
                Signals::Handle => Some((
                    signal(SignalKind::terminate())?,
                    signal(SignalKind::interrupt())?,
                )),
                Signals::Ignore => None,
            };
            Ok(Signal { streams })
        }
        #[cfg(not(unix))]
        {
            let _ = signals;
            Ok(Signal {})
        }
    }

    /// Resolves on the first signal; never without handlers.
    async fn recv(mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.streams {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        std::future::pending().await
    }
}
