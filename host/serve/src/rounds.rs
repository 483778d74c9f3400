//! The round thread: the one owner of the [`Host`]. It drives rounds as `commute tick`
//! does ([`Host::tick_until`]: pipelined, each round's commit beside the next round's
//! calls), so calls that arrive together share a round and its flush; between rounds it
//! runs the installs and update calls handed to it.
//!
//! # Invariants
//!
//! - (A) Idle means blocked: with nothing pending it waits on its channel, and every accepted
//!   batch sends [`Job::Wake`] after it is appended, so no call waits for a round that
//!   never starts.
//! - (B) [`Job::Stop`] is taken only between rounds: the rounds in flight commit and
//!   flush first. Any job but a wake stops the tick at the next commit, so installs,
//!   updates and stops wait for at most two commits, not for the backlog to drain.

use candid::Principal;
use commute::host::{Host, HostError};
use commute::query::{Queries, Reply};
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, RwLock};
use tokio::sync::{oneshot, watch};

/// Arguments that outlive the request that brought them.
#[derive(Debug)]
pub(crate) enum OwnedArgs {
    /// Candid text.
    Text(String),
    /// A Candid binary message.
    Binary(Vec<u8>),
}

impl OwnedArgs {
    pub(crate) fn borrow(&self) -> commute::submit::Args<'_> {
        match self {
            OwnedArgs::Text(t) => commute::submit::Args::Text(t),
            OwnedArgs::Binary(b) => commute::submit::Args::Binary(b),
        }
    }
}

/// What the round thread is asked to do.
pub(crate) enum Job {
    /// Calls were accepted: run rounds until none is pending.
    Wake,
    /// Install a canister.
    Install {
        name: String,
        wasm: Vec<u8>,
        /// The `.did`'s file name and text.
        did: Option<(String, String)>,
        argument: Option<String>,
        /// Who may upgrade it through `install_code`; `None` keeps those it has.
        controllers: Option<Vec<Principal>>,
        /// The controller asking, through the IC interface (checked here, where the
        /// install runs); `None` for the operator.
        by: Option<Principal>,
        reply: oneshot::Sender<Result<(), HostError>>,
    },
    /// Run an update call and reply.
    Update {
        canister: String,
        method: String,
        args: OwnedArgs,
        caller: Principal,
        reply: oneshot::Sender<Result<Reply, HostError>>,
    },
    /// Finish the round in flight, flush and stop.
    Stop,
}

/// What the round thread tells the request handlers.
pub(crate) struct Published {
    /// Bumped after every commit, so a handler waiting for a ticket wakes.
    pub(crate) commits: watch::Sender<u64>,
    /// Replaced after an install, so queries see the new canister.
    pub(crate) queries: Arc<RwLock<Queries>>,
}

/// Runs until [`Job::Stop`] or until every sender is gone. An `Err` is the host's own
/// failure (sled, say): the server stops with it.
pub(crate) fn run(
    mut host: Host,
    mut jobs: Receiver<Job>,
    out: &Published,
) -> Result<(), HostError> {
    loop {
        // Jobs first, without blocking: installs and updates are ordered after the rounds
        // of calls accepted before them by `Host` itself.
        loop {
            match jobs.try_recv() {
                Ok(Job::Stop) | Err(TryRecvError::Disconnected) => return stop(host),
                Ok(job) => run_job(&mut host, job, out),
                Err(TryRecvError::Empty) => break,
            }
        }
        // Pipelined rounds until nothing is pending, or a job other than a wake arrives
        // (invariant B). A wake taken here is answered by this tick itself: its calls were
        // appended before it was sent, and the tick takes afresh after every report before
        // it can return, so they are seen.
        let mut waiting = None;
        // The report runs on a worker of the host's pool: it takes the receiver by a unique
        // borrow, which may move there (a shared one may not: a receiver is not `Sync`).
        let (jobs_there, waiting_there) = (&mut jobs, &mut waiting);
        host.tick_until(move |_| {
            out.commits.send_modify(|n| *n += 1);
            match jobs_there.try_recv() {
                Ok(Job::Wake) | Err(TryRecvError::Empty) => ControlFlow::Continue(()),
                Ok(job) => {
                    *waiting_there = Some(job);
                    ControlFlow::Break(())
                }
                Err(TryRecvError::Disconnected) => {
                    *waiting_there = Some(Job::Stop);
                    ControlFlow::Break(())
                }
            }
        })?;
        match waiting {
            Some(Job::Stop) => return stop(host),
            Some(job) => {
                run_job(&mut host, job, out);
                continue;
            }
            None => {}
        }
        // Nothing pending: block (invariant A).
        match jobs.recv() {
            Ok(Job::Stop) | Err(_) => return stop(host),
            Ok(job) => run_job(&mut host, job, out),
        }
    }
}

fn stop(host: Host) -> Result<(), HostError> {
    // Every round flushed as it committed (invariant B); the queue's appends are flushed by
    // the acceptor before it answers. Dropping the host closes sled.
    drop(host);
    Ok(())
}

fn run_job(host: &mut Host, job: Job, out: &Published) {
    match job {
        Job::Wake | Job::Stop => {}
        Job::Install {
            name,
            wasm,
            did,
            argument,
            controllers,
            by,
            reply,
        } => {
            let did = did.as_ref().map(|(f, t)| (f.as_str(), t.as_str()));
            let allowed = by.is_none_or(|sender| {
                host.registry()
                    .get(&name)
                    .is_some_and(|c| c.controllers.contains(&sender))
            });
            if !allowed {
                let _ = reply.send(Err(HostError::NotController { name }));
                return;
            }
            let result = host.install_controlled(
                &name,
                &wasm,
                did,
                argument.as_deref(),
                controllers.as_deref(),
            );
            if result.is_ok() {
                *out.queries.write().unwrap_or_else(|e| e.into_inner()) = host.queries();
            }
            out.commits.send_modify(|n| *n += 1);
            // The requester may have gone; the install stands either way.
            let _ = reply.send(result);
        }
        Job::Update {
            canister,
            method,
            args,
            caller,
            reply,
        } => {
            let result = host.call(&canister, &method, args.borrow(), caller);
            out.commits.send_modify(|n| *n += 1);
            let _ = reply.send(result);
        }
    }
}
