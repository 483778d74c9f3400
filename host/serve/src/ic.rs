//! The Internet Computer's HTTP interface, beside the JSON API: what `@dfinity/agent`,
//! the `ic-agent` crate and `dfx` send a local replica (docs/http.md, "The IC interface").
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `GET /api/v2/status` | | CBOR: `root_key` (DER), `replica_health_status: "healthy"` |
//! | `POST /api/v2/canister/{id}/query`, `v3` | query envelope | CBOR query response, signed by the node key |
//! | `POST /api/v2/canister/{id}/call` | call envelope | 202; the client polls `read_state` |
//! | `POST /api/v3/canister/{id}/call`, `v4` | call envelope | 200 and a certificate of the call's status once it is done, or 202 after [`SYNC_WAIT`] |
//! | `POST /api/v2/canister/{id}/read_state`, `v3`; `/api/v{2,3}/subnet/{id}/read_state` | read_state envelope | CBOR `{certificate}` of the paths asked for |
//!
//! Envelopes are CBOR (`ic-transport-types`), their senders checked as [`sender`] says
//! before anything is run or queued: a request that fails a check gets a 400 naming it.
//! Errors of the interface itself (not CBOR, wrong endpoint for the request type, a canister
//! id that is not the URL's) are 400 with a one-line text body, as a replica's are; a call
//! the canister or host refuses is a reject with the IC's codes (`reject`).
//!
//! A call's progress is kept by request id (`requests`): a pure update or oneway is
//! queued as the JSON API queues it (its request id is its idempotency key, so a resent
//! request is not run twice, even across a restart) and becomes `replied` with the empty
//! Candid reply once the round that ran it is durable, or `rejected` if it trapped; an
//! update runs on the round thread and its reply or reject is kept.

pub mod keys;
mod management;
mod reject;
mod requests;
pub mod sender;
mod state_tree;
#[cfg(test)]
mod tests;

pub use keys::{KeyError, Keys, NODE_KEY_FILE, ROOT_KEY_FILE};
pub use sender::SenderError;

use super::accept::{Accept, NotAccepted};
use super::api::{on_worker, ApiError, Shared};
use super::body::read_capped;
use super::rounds::{Job, OwnedArgs};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use candid::Principal;
use commute::host::HostError;
use commute::outcome::{Outcome, Status};
use commute::queue::CallKind;
use commute::submit::{self, now_nanos, Args};
use commute_did::Mode;
use ic_transport_types::{
    Envelope, EnvelopeContent, NodeSignature, QueryResponse, ReadStateResponse, ReplyResponse,
    RequestId, TransportCallResponse,
};
use reject::Reject;
use requests::{Progress, Requests, Track};
use serde::Serialize;
use state_tree::{cbor, StateTree};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How long a v3 or v4 call waits for its call to finish before answering 202: the IC's
/// own bound is about 10 s; a pure update waits for its round's flush.
pub const SYNC_WAIT: Duration = Duration::from_secs(10);

/// The empty Candid reply `()`, what a pure update or oneway replies.
const EMPTY_REPLY: &[u8] = b"DIDL\x00\x00";

/// The most paths one `read_state` may ask for, and labels in one path.
const MAX_PATHS: usize = 1000;
const MAX_LABELS: usize = 127;

/// What a request envelope may add to its arguments: sender key, signature, delegations.
const ENVELOPE_OVERHEAD: usize = 64 << 10;

/// The IC interface's state: its keys and the calls it took.
pub(crate) struct Ic {
    pub(crate) keys: Keys,
    /// The raw BLS key that certifies canister signatures (sender rule E): the IC
    /// mainnet's, Internet Identity's network.
    canister_sig_root: Vec<u8>,
    requests: Requests,
    /// Bumped whenever a kept call's progress changes, so a waiting call wakes.
    changed: watch::Sender<u64>,
}

impl Ic {
    /// The interface over `keys`.
    pub(crate) fn new(keys: Keys) -> Ic {
        Ic {
            keys,
            canister_sig_root: sender::mainnet_root_key(),
            requests: Requests::default(),
            changed: watch::channel(0).0,
        }
    }

    fn set(&self, id: &[u8; 32], track: Track) {
        self.requests.set(id, track);
        self.changed.send_modify(|n| *n += 1);
    }
}

/// The routes of the IC interface, merged into the server's router.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v2/status", get(status))
        .route("/api/v2/canister/{id}/query", post(query))
        .route("/api/v3/canister/{id}/query", post(query))
        .route("/api/v2/canister/{id}/call", post(call_v2))
        .route("/api/v3/canister/{id}/call", post(call_sync))
        .route("/api/v4/canister/{id}/call", post(call_sync))
        .route("/api/v2/canister/{id}/read_state", post(read_state))
        .route("/api/v3/canister/{id}/read_state", post(read_state))
        .route("/api/v2/subnet/{id}/read_state", post(read_state_subnet))
        .route("/api/v3/subnet/{id}/read_state", post(read_state_subnet))
}

/// An error of the interface: a status and a one-line text body, as a replica sends.
#[derive(Debug)]
pub(crate) enum IcError {
    Text(StatusCode, String),
    Api(ApiError),
}

impl IcError {
    fn bad(message: String) -> IcError {
        IcError::Text(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for IcError {
    fn from(e: ApiError) -> IcError {
        IcError::Api(e)
    }
}

impl From<SenderError> for IcError {
    fn from(e: SenderError) -> IcError {
        IcError::bad(e.to_string())
    }
}

impl IntoResponse for IcError {
    fn into_response(self) -> Response {
        match self {
            IcError::Text(status, message) => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                message,
            )
                .into_response(),
            IcError::Api(e) => e.into_response(),
        }
    }
}

/// A CBOR answer.
fn cbor_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/cbor")],
        cbor(value),
    )
        .into_response()
}

/// `/api/v2/status`'s body.
#[derive(Serialize)]
struct StatusReply<'a> {
    #[serde(with = "serde_bytes")]
    root_key: &'a [u8],
    impl_version: &'static str,
    replica_health_status: &'static str,
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    cbor_response(
        StatusCode::OK,
        &StatusReply {
            root_key: shared.ic.keys.root_der(),
            impl_version: concat!("commute ", env!("CARGO_PKG_VERSION")),
            replica_health_status: "healthy",
        },
    )
}

/// A request whose envelope was decoded and whose sender was verified.
struct Opened {
    content: EnvelopeContent,
    id: RequestId,
    sender: Principal,
}

/// Which request type an endpoint takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call,
    Query,
    ReadState,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Query => "query",
            Kind::ReadState => "read_state",
        }
    }
}

/// Reads, decodes and authenticates the envelope of a `kind` request whose URL names
/// `effective` (a canister or subnet id, as text).
async fn open(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
    kind: Kind,
) -> Result<Opened, IcError> {
    let max = shared.max_arg_bytes.saturating_add(ENVELOPE_OVERHEAD);
    let bytes = read_capped(shared, headers, body, max, "request envelopes").await?;
    let envelope: Envelope<'static> = serde_cbor::from_slice(&bytes).map_err(|e| {
        IcError::bad(format!(
            "the body is not a CBOR request envelope {{content, sender_pubkey?, sender_sig?, sender_delegation?}}: {e}"
        ))
    })?;
    let content = envelope.content.into_owned();
    let got = match content {
        EnvelopeContent::Call { .. } => Kind::Call,
        EnvelopeContent::Query { .. } => Kind::Query,
        EnvelopeContent::ReadState { .. } => Kind::ReadState,
    };
    if got != kind {
        return Err(IcError::bad(format!(
            "a {} request was sent to a {} endpoint",
            got.name(),
            kind.name()
        )));
    }
    let id = content.to_request_id();
    let signed = sender::Signed {
        pubkey: envelope.sender_pubkey.as_deref(),
        sig: envelope.sender_sig.as_deref(),
        delegations: envelope.sender_delegation.as_deref(),
    };
    let root = &shared.ic.canister_sig_root;
    let sender = sender::verify(&content, &id, &signed, (now_nanos(), root))?;
    Ok(Opened {
        content,
        id,
        sender,
    })
}

/// The id in the URL, which must be the canister the request names.
fn effective_canister(text: &str, named: Option<&Principal>) -> Result<Principal, IcError> {
    let id = Principal::from_text(text)
        .map_err(|e| IcError::bad(format!("`{text}` in the URL is not a principal: {e}")))?;
    if let Some(named) = named {
        if *named != id {
            return Err(IcError::bad(format!(
                "the request is for canister {named} but was sent to the URL of {id}"
            )));
        }
    }
    Ok(id)
}

/// The name of the canister installed with id `id`.
fn canister_name(shared: &Shared, id: &Principal) -> Option<String> {
    shared
        .intake
        .registry()
        .iter()
        .find(|c| c.principal == *id)
        .map(|c| c.name.clone())
}

/// The mode of `canister.method`.
fn mode_of(shared: &Shared, canister: &str, method: &str) -> Result<Mode, Reject> {
    Ok(submit::mode(&shared.intake.registry(), canister, method)?)
}

async fn query(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IcError> {
    let opened = open(&shared, &headers, body, Kind::Query).await?;
    let EnvelopeContent::Query {
        canister_id,
        method_name,
        arg,
        ..
    } = &opened.content
    else {
        unreachable!("open checked the kind");
    };
    let canister_id = effective_canister(&id, Some(canister_id))?;
    let outcome = match canister_name(&shared, &canister_id) {
        None => Err(Reject::no_canister(&canister_id)),
        Some(name) => run_query(
            &shared,
            name,
            method_name.clone(),
            arg.clone(),
            opened.sender,
        )
        .await
        .map_err(IcError::from)?,
    };
    let mut response = match outcome {
        Ok(reply) => QueryResponse::Replied {
            reply: ReplyResponse { arg: reply },
            signatures: vec![],
        },
        Err(reject) => QueryResponse::Rejected {
            reject: reject.response(),
            signatures: vec![],
        },
    };
    let timestamp = now_nanos();
    let signature = shared
        .ic
        .keys
        .sign_node(&response.signable(opened.id, timestamp))
        .to_vec();
    let node = NodeSignature {
        timestamp,
        signature,
        identity: shared.ic.keys.node_id(),
    };
    match &mut response {
        QueryResponse::Replied { signatures, .. } | QueryResponse::Rejected { signatures, .. } => {
            signatures.push(node)
        }
    }
    Ok(cbor_response(StatusCode::OK, &response))
}

/// Runs query `method` of canister `name`: its reply, or the reject of a call the
/// canister or host refused.
async fn run_query(
    shared: &Arc<Shared>,
    name: String,
    method: String,
    arg: Vec<u8>,
    sender: Principal,
) -> Result<Result<Vec<u8>, Reject>, ApiError> {
    match mode_of(shared, &name, &method) {
        Err(reject) => return Ok(Err(reject)),
        Ok(Mode::Query | Mode::CompositeQuery) => {}
        Ok(_) => return Ok(Err(Reject::not_a_query(&name, &method))),
    }
    let queries = shared.queries();
    on_worker(move || {
        queries
            .query(&name, &method, Args::Binary(&arg), sender)
            .map(|reply| reply.bytes)
            .map_err(Reject::from)
    })
    .await
}

async fn call_v2(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IcError> {
    call(&shared, &id, &headers, body).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn call_sync(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IcError> {
    let request = call(&shared, &id, &headers, body).await?;
    let deadline = tokio::time::Instant::now() + SYNC_WAIT;
    let mut commits = shared.commits.clone();
    let mut changed = shared.ic.changed.subscribe();
    let mut stopping = shared.stopping.clone();
    loop {
        // Marked seen before reading, so a change after the read wakes the wait.
        commits.borrow_and_update();
        changed.borrow_and_update();
        let progress = progress(&shared, &request)?;
        if progress.is_final() {
            let mut tree = StateTree::new(&shared.ic.keys, now_nanos());
            tree.request_status(request.as_slice(), &progress);
            let path = vec![b"request_status".to_vec(), request.to_vec()];
            let certificate = tree.certify(&shared.ic.keys, &[path]);
            return Ok(cbor_response(
                StatusCode::OK,
                &TransportCallResponse::Replied { certificate },
            ));
        }
        tokio::select! {
            _ = commits.changed() => {},
            _ = changed.changed() => {},
            () = tokio::time::sleep_until(deadline) => break,
            _ = stopping.wait_for(|s| *s) => break,
        }
    }
    Ok(cbor_response(
        StatusCode::ACCEPTED,
        &TransportCallResponse::Accepted,
    ))
}

/// The progress of kept call `id` (`processing` if unknown: it was just begun).
fn progress(shared: &Shared, id: &[u8; 32]) -> Result<Progress, IcError> {
    Ok(match shared.ic.requests.get(id) {
        None => Progress::Processing,
        Some((_, Track::Here(progress))) => progress,
        Some((_, Track::Seq(seq))) => match shared.queries().status(seq).map_err(ApiError::from)? {
            Status::Pending | Status::Unknown => Progress::Processing,
            Status::Finished(Outcome::Trapped(message)) => {
                Progress::Rejected(Reject::trapped(message))
            }
            Status::Finished(Outcome::Done | Outcome::Replied(_)) => {
                Progress::Replied(EMPTY_REPLY.to_vec())
            }
        },
    })
}

/// Takes a call: authenticates it, then queues it (pure update, oneway), has the round
/// thread run it (update) or runs it (query), keeping its progress under its request id.
async fn call(
    shared: &Arc<Shared>,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<[u8; 32], IcError> {
    let opened = open(shared, headers, body, Kind::Call).await?;
    let EnvelopeContent::Call {
        canister_id,
        method_name,
        arg,
        ingress_expiry,
        ..
    } = opened.content
    else {
        unreachable!("open checked the kind");
    };
    // The management canister's calls name their target in the URL and argument.
    let management = canister_id == Principal::management_canister();
    let canister_id = effective_canister(id, (!management).then_some(&canister_id))?;
    let request = *opened.id;
    let now = now_nanos();
    if shared
        .ic
        .requests
        .begin(request, opened.sender, ingress_expiry, now)
        .is_some()
    {
        // A resent request: answered as the first, never run twice.
        return Ok(request);
    }
    if management {
        let sent = (method_name, arg);
        if let Err(e) = management::call(shared, request, canister_id, opened.sender, sent).await {
            shared.ic.requests.forget(&request);
            return Err(e);
        }
        return Ok(request);
    }
    let Some(name) = canister_name(shared, &canister_id) else {
        shared.ic.set(
            &request,
            Track::Here(Progress::Rejected(Reject::no_canister(&canister_id))),
        );
        return Ok(request);
    };
    let mode = match mode_of(shared, &name, &method_name) {
        Ok(mode) => mode,
        Err(reject) => {
            shared
                .ic
                .set(&request, Track::Here(Progress::Rejected(reject)));
            return Ok(request);
        }
    };
    let sender = opened.sender;
    match mode {
        Mode::Query | Mode::CompositeQuery => {
            let progress = match run_query(shared, name, method_name, arg, sender).await? {
                Ok(reply) => Progress::Replied(reply),
                Err(reject) => Progress::Rejected(reject),
            };
            shared.ic.set(&request, Track::Here(progress));
        }
        Mode::PureUpdate | Mode::Oneway => {
            let checker = shared.clone();
            let method = method_name.clone();
            let checked = on_worker(move || {
                checker
                    .intake
                    .check(&name, &method, Args::Binary(&arg), sender, now)
            })
            .await?;
            let call = match checked {
                Ok(call) if call.kind != CallKind::Update => call,
                // Reinstalled since its mode was read, with the method now an update.
                Ok(_) => {
                    let changed = Reject::changed_mode(&canister_id, &method_name);
                    shared
                        .ic
                        .set(&request, Track::Here(Progress::Rejected(changed)));
                    return Ok(request);
                }
                Err(e) => {
                    shared
                        .ic
                        .set(&request, Track::Here(Progress::Rejected(e.into())));
                    return Ok(request);
                }
            };
            let (reply, answer) = oneshot::channel();
            let sent = shared.accept.send(Accept {
                calls: vec![call],
                // The request id: a request resent after a restart gets the same seq.
                key: Some(hex::encode(request).into_bytes()),
                reply,
            });
            let accepted = match sent {
                Ok(()) => answer.await.ok(),
                Err(_) => None,
            };
            match accepted {
                Some(Ok(seqs)) => shared.ic.set(&request, Track::Seq(seqs.start)),
                Some(Err(NotAccepted::Full(e))) => {
                    shared.ic.requests.forget(&request);
                    return Err(IcError::Text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        e.to_string(),
                    ));
                }
                Some(Err(NotAccepted::KeyReused(e))) => {
                    shared.ic.requests.forget(&request);
                    return Err(IcError::Text(StatusCode::CONFLICT, e.to_string()));
                }
                Some(Err(NotAccepted::Failed(e))) => {
                    shared.ic.requests.forget(&request);
                    return Err(IcError::Text(StatusCode::INTERNAL_SERVER_ERROR, e));
                }
                None => {
                    shared.ic.requests.forget(&request);
                    return Err(IcError::Text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the server is stopping".into(),
                    ));
                }
            }
        }
        Mode::Update => {
            let checker = shared.clone();
            let (c, m) = (name.clone(), method_name.clone());
            let (checked, arg) = on_worker(move || {
                let checked = checker.intake.check(&c, &m, Args::Binary(&arg), sender, 0);
                (checked, arg)
            })
            .await?;
            if let Err(e) = checked {
                shared
                    .ic
                    .set(&request, Track::Here(Progress::Rejected(e.into())));
                return Ok(request);
            }
            let (reply, answer) = oneshot::channel();
            let job = Job::Update {
                canister: name,
                method: method_name,
                args: OwnedArgs::Binary(arg),
                caller: sender,
                reply,
            };
            on_rounds(shared, request, (job, answer), |answer| match answer {
                Ok(reply) => Progress::Replied(reply.bytes),
                Err(e) => Progress::Rejected(e.into()),
            })?;
        }
    }
    Ok(request)
}

/// Hands `job` to the round thread and keeps call `request`'s progress: `processing` now,
/// then what `progress` makes of the round thread's `answer`, whether or not the request
/// still waits. A 503 if the server is stopping.
fn on_rounds<T: Send + 'static>(
    shared: &Arc<Shared>,
    request: [u8; 32],
    (job, answer): (Job, oneshot::Receiver<Result<T, HostError>>),
    progress: impl FnOnce(Result<T, HostError>) -> Progress + Send + 'static,
) -> Result<(), IcError> {
    if shared.rounds.send(job).is_err() {
        shared.ic.requests.forget(&request);
        return Err(IcError::Text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping".into(),
        ));
    }
    shared.ic.set(&request, Track::Here(Progress::Processing));
    let waiter = shared.clone();
    tokio::spawn(async move {
        if let Ok(answer) = answer.await {
            waiter.ic.set(&request, Track::Here(progress(answer)));
        }
    });
    Ok(())
}

async fn read_state(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IcError> {
    let canister = effective_canister(&id, None)?;
    read_state_of(&shared, Some(canister), &headers, body).await
}

async fn read_state_subnet(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IcError> {
    let subnet = Principal::from_text(&id)
        .map_err(|e| IcError::bad(format!("`{id}` in the URL is not a principal: {e}")))?;
    if subnet != shared.ic.keys.subnet_id() {
        return Err(IcError::Text(
            StatusCode::NOT_FOUND,
            format!(
                "no subnet {subnet} here: this server is subnet {}",
                shared.ic.keys.subnet_id()
            ),
        ));
    }
    read_state_of(&shared, None, &headers, body).await
}

/// A certificate of the paths a `read_state` asks for: `/time`, `/subnet/…`,
/// `/request_status/<id>/…` of the sender's own calls, and
/// `/canister/<effective>/metadata/candid:service`; any other path is certified absent.
async fn read_state_of(
    shared: &Arc<Shared>,
    effective: Option<Principal>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, IcError> {
    let opened = open(shared, headers, body, Kind::ReadState).await?;
    let EnvelopeContent::ReadState { paths, .. } = &opened.content else {
        unreachable!("open checked the kind");
    };
    if paths.len() > MAX_PATHS {
        return Err(IcError::bad(format!(
            "{} paths, over the limit of {MAX_PATHS}",
            paths.len()
        )));
    }
    let paths: Vec<Vec<Vec<u8>>> = paths
        .iter()
        .map(|p| p.iter().map(|l| l.as_bytes().to_vec()).collect())
        .collect();
    let mut tree = StateTree::new(&shared.ic.keys, now_nanos());
    for path in &paths {
        if path.len() > MAX_LABELS {
            return Err(IcError::bad(format!(
                "a path of {} labels, over the limit of {MAX_LABELS}",
                path.len()
            )));
        }
        match path.as_slice() {
            [first, id, ..] if first == b"request_status" => {
                let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) else {
                    continue;
                };
                if let Some((sender, _)) = shared.ic.requests.get(&id) {
                    if sender != opened.sender {
                        return Err(IcError::Text(
                            StatusCode::FORBIDDEN,
                            format!(
                                "request_status of {} is not the sender's: the call was sent by {sender}",
                                hex::encode(id)
                            ),
                        ));
                    }
                    tree.request_status(&id, &progress(shared, &id)?);
                }
            }
            [first, id, metadata, name, ..]
                if first == b"canister" && metadata == b"metadata" && name == b"candid:service" =>
            {
                let id = Principal::try_from_slice(id).map_err(|e| {
                    IcError::bad(format!("a canister id in a path is not a principal: {e}"))
                })?;
                if effective.is_some_and(|e| e != id) {
                    return Err(IcError::bad(format!(
                        "a path names canister {id}, not the URL's {}",
                        effective.map(|e| e.to_text()).unwrap_or_default()
                    )));
                }
                if let Some(name) = canister_name(shared, &id) {
                    if let Some(c) = shared.intake.registry().get(&name) {
                        tree.candid_service(id, c.interface.standard());
                    }
                }
            }
            _ => {}
        }
    }
    let certificate = tree.certify(&shared.ic.keys, &paths);
    Ok(cbor_response(
        StatusCode::OK,
        &ReadStateResponse { certificate },
    ))
}
