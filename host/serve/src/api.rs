//! The HTTP API: routes, request parsing and the mapping of errors to statuses. Handlers
//! answer reads themselves (queries, status, root, dump: committed state, from any thread),
//! check submitted calls themselves, and hand accepted calls to the acceptor and installs and
//! updates to the round thread.
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `GET /health` | | [`Health`] |
//! | `POST /submit/{canister}/{method}[?caller=P]` | arguments | 202 [`Queued`], once durable; with an `Idempotency-Key` header, a retry gets the same seq |
//! | `POST /call/{canister}/{method}[?caller=P]` | arguments | [`Called`]: a reply, or 202 [`Queued`] |
//! | `POST /query/{canister}/{method}[?caller=P]` | arguments | [`Replied`] |
//! | `GET /status/{seq}[?wait=SECONDS]` | | [`Ticket`]; with `wait`, once it is not pending (or the wait ends) |
//! | `POST /install/{name}` (token) | [`Install`] JSON | [`Installed`] |
//! | `GET /root` | | [`RootHex`] |
//! | `GET /dump/{canister}` (token) | | the JSON of `commute dump` |
//!
//! Arguments are Candid text (`text/x-candid`) or a Candid binary message
//! (`application/candid` or `application/octet-stream`); an empty body is `()`. Who may
//! send what is [`super::guard`]'s: no request from another origin, no POST of a type a web
//! page may send unasked, and installs and dumps only with the operator's token. Bodies are
//! read as [`super::body`] says: capped, timed, and within a share of a budget. Errors are
//! [`wire::Error`] with a 4xx status naming what was wrong (5xx for the host's own
//! failures), and nothing is queued.

use super::accept::{Accept, NotAccepted};
use super::body::read_capped;
use super::guard::{self, Operator};
use super::rounds::{Job, OwnedArgs};
use super::wire::{self, Called, Health, Install, Installed, Queued, Replied, RootHex, Ticket};
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use candid::Principal;
use commute::host::HostError;
use commute::outcome::{Outcome, Status};
use commute::query::{Queries, Reply};
use commute::queue::{CallKind, QueueError};
use commute::submit::{self, now_nanos, SubmitError};
use commute_did::Mode;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// The longest a `GET /status/{seq}?wait=` holds a request open.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// How large an install request may be: a hex wasm of up to 32 MiB and its `.did`.
const MAX_INSTALL_BYTES: usize = 65 << 20;

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) intake: commute::submit::Intake,
    pub(crate) queries: Arc<RwLock<Queries>>,
    pub(crate) accept: Sender<Accept>,
    pub(crate) rounds: Sender<Job>,
    pub(crate) commits: watch::Receiver<u64>,
    pub(crate) stopping: watch::Receiver<bool>,
    pub(crate) max_arg_bytes: usize,
    pub(crate) data_dir: String,
    /// KiB of request bodies that may be in memory at once, across all requests.
    pub(crate) body_budget: tokio::sync::Semaphore,
    /// The longest pause between two pieces of a body, and the longest a body may take.
    pub(crate) body_timeouts: (Duration, Duration),
    /// The address the server listens on, for the `Host` check.
    pub(crate) addr: SocketAddr,
    /// What installs and dumps must carry.
    pub(crate) token: super::token::Token,
    /// The IC interface's keys and calls.
    pub(crate) ic: super::ic::Ic,
    /// Whether `?caller=` is taken ([`super::ServeConfig::json_caller`]).
    pub(crate) json_caller: bool,
}

/// How many KiB of request bodies the server holds in memory at once: with 8 MiB text
/// arguments allowed, a flood of large bodies is refused (503) rather than buffered.
pub const BODY_BUDGET_KIB: usize = 256 << 10;

impl Shared {
    pub(crate) fn queries(&self) -> Queries {
        self.queries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The name of the canister `name_or_id` designates (its name, or its id as IC
    /// clients give it); unresolved, it stays as given, for the error to name.
    pub(crate) fn resolve(&self, name_or_id: String) -> String {
        match self.intake.registry().resolve(&name_or_id) {
            Some(name) => name.to_string(),
            None => name_or_id,
        }
    }

    fn to_rounds(&self, job: Job) -> Result<(), ApiError> {
        self.rounds.send(job).map_err(|_| ApiError::stopping())
    }
}

/// The router over `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/submit/{canister}/{method}", post(submit))
        .route("/call/{canister}/{method}", post(call))
        .route("/query/{canister}/{method}", post(query))
        .route("/status/{seq}", get(status))
        .route("/install/{name}", post(install))
        .route("/root", get(root))
        .route("/dump/{canister}", get(dump))
        .merge(super::ic::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed here: GET /health, /status, /root, /dump, /api/v2/status; POST /submit, /call, /query, /install, /api/…".into(),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            guard::same_origin,
        ))
        .with_state(shared)
}

/// An error answer: a status and `{"error": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: String) -> ApiError {
        ApiError { status, message }
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn bad(message: String) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn internal(message: String) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    fn stopping() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping".into(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(wire::Error {
                error: self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        let status = match e {
            SubmitError::UnknownCanister(_) | SubmitError::UnknownMethod { .. } => {
                StatusCode::NOT_FOUND
            }
            SubmitError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SubmitError::WrongMode { .. } | SubmitError::Args(_) => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<HostError> for ApiError {
    fn from(e: HostError) -> ApiError {
        match e {
            HostError::Submit(e) => e.into(),
            HostError::Queue(e @ QueueError::Full { .. }) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            e @ (HostError::Did(_) | HostError::Install { .. }) => ApiError::bad(e.to_string()),
            HostError::Execute(e) if e.is_bad_module() => ApiError::bad(e.to_string()),
            e @ HostError::Trapped { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            e => ApiError::internal(e.to_string()),
        }
    }
}

/// `?caller=PRINCIPAL`, anonymous by default.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CallerQuery {
    caller: Option<String>,
}

impl CallerQuery {
    fn principal(&self) -> Result<Principal, ApiError> {
        match &self.caller {
            None => Ok(Principal::anonymous()),
            Some(text) => Principal::from_text(text)
                .map_err(|e| ApiError::bad(format!("caller `{text}` is not a principal: {e}"))),
        }
    }
}

/// Reads a call's arguments from the body, refusing more than the cap allows before it has
/// all arrived: the cap for binary, [`commute::submit`]'s text allowance for text.
async fn arguments(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<OwnedArgs, ApiError> {
    let binary = match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        None => false,
        Some(Ok(t)) => {
            let t = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            match t.as_str() {
                "application/candid" | "application/octet-stream" => true,
                "text/x-candid" => false,
                other => {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!("content type `{other}`: send Candid text as text/x-candid or a Candid message as application/candid"),
                    ))
                }
            }
        }
        Some(Err(_)) => return Err(ApiError::bad("content type is not ASCII".into())),
    };
    let max = if binary {
        shared.max_arg_bytes
    } else {
        shared
            .max_arg_bytes
            .saturating_mul(commute::submit::TEXT_PER_BYTE)
    };
    let bytes = read_capped(shared, headers, body, max, "arguments").await?;
    if binary {
        return Ok(OwnedArgs::Binary(bytes));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ApiError::bad("arguments are not UTF-8 Candid text".into()))?;
    Ok(OwnedArgs::Text(if text.trim().is_empty() {
        "()".into()
    } else {
        text
    }))
}

/// Runs `f` on tokio's blocking pool: checks decode Candid and queries run wasm.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    on_worker(f).await?
}

/// `f` on a blocking thread, off the async workers; a 500 if that thread panicked.
pub(crate) async fn on_worker<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))
}

async fn health(State(shared): State<Arc<Shared>>) -> Json<Health> {
    let tail = shared.intake.tail();
    Json(Health {
        ok: true,
        commits: *shared.commits.borrow(),
        pending: tail.pending(),
        next_seq: tail.next_seq(),
        data_dir: shared.data_dir.clone(),
    })
}

/// A binary argument up to this size is checked on the request's own async worker: its
/// decode takes microseconds (and is bounded by the decoding quota whatever it holds), while
/// a hop to the blocking pool and back costs two thread wakeups, measured at ~15% of the
/// server's accepted calls/s for logging calls. Text is parsed, and larger arguments may
/// take longer: those go to the pool.
const INLINE_CHECK_BYTES: usize = 1024;

/// ... and only for a canister whose `.did` is at most this long: a thread parses its own
/// copy of an interface the first time it checks a call to it (`SharedInterface`), which
/// for a `.did` of megabytes would hold the async worker, and every connection on it.
const INLINE_DID_BYTES: usize = 64 << 10;

/// Checks a fire-and-forget call and has the acceptor queue it; its seq once durable.
async fn accept(shared: &Arc<Shared>, request: CallRequest) -> Result<Response, ApiError> {
    let CallRequest {
        canister,
        method,
        caller,
        args,
        key,
    } = request;
    let inline = match &args {
        OwnedArgs::Binary(bytes) => {
            bytes.len() <= INLINE_CHECK_BYTES
                && shared
                    .intake
                    .registry()
                    .get(&canister)
                    .is_none_or(|c| c.interface.standard().len() <= INLINE_DID_BYTES)
        }
        OwnedArgs::Text(_) => false,
    };
    let checker = shared.clone();
    let check = move || {
        let call = checker
            .intake
            .check(&canister, &method, args.borrow(), caller, now_nanos())?;
        if call.kind == CallKind::Update {
            return Err(ApiError::bad(format!(
                "`{canister}.{method}` is an update method: it replies, so POST /call/{canister}/{method} to get its reply"
            )));
        }
        Ok(call)
    };
    let call = if inline {
        check()?
    } else {
        blocking(check).await?
    };
    let (reply, answer) = oneshot::channel();
    shared
        .accept
        .send(Accept {
            calls: vec![call],
            key,
            reply,
        })
        .map_err(|_| ApiError::stopping())?;
    let seqs = match answer.await.map_err(|_| ApiError::stopping())? {
        Ok(seqs) => seqs,
        Err(NotAccepted::Full(e)) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                e.to_string(),
            ))
        }
        Err(NotAccepted::KeyReused(e)) => {
            return Err(ApiError::new(StatusCode::CONFLICT, e.to_string()))
        }
        Err(NotAccepted::Failed(e)) => return Err(ApiError::internal(e)),
    };
    Ok((StatusCode::ACCEPTED, Json(Queued { seq: seqs.start })).into_response())
}

/// What every call endpoint takes: the method (path), the caller (`?caller=`), an
/// idempotency key (header) and the arguments (body), each refused with a JSON error.
pub(crate) struct CallRequest {
    canister: String,
    method: String,
    caller: Principal,
    args: OwnedArgs,
    key: Option<Vec<u8>>,
}

impl FromRequest<Arc<Shared>> for CallRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let Path((canister, method)) =
            Path::<(String, String)>::from_request_parts(&mut parts, shared)
                .await
                .map_err(|e| ApiError::bad(e.body_text()))?;
        let canister = shared.resolve(canister);
        let Query(caller) = Query::<CallerQuery>::from_request_parts(&mut parts, shared)
            .await
            .map_err(|e| ApiError::bad(e.body_text()))?;
        let request = CallRequest {
            canister,
            method,
            caller: caller.principal()?,
            key: idempotency_key(&parts.headers)?,
            args: arguments(shared, &parts.headers, body).await?,
        };
        // Refused once the body is read, so the connection stays usable.
        if caller.caller.is_some() && !shared.json_caller {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "caller= is turned off on this server (--no-json-caller): send signed requests through the IC interface (/api/…) to call as a principal".into(),
            ));
        }
        Ok(request)
    }
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    request: CallRequest,
) -> Result<Response, ApiError> {
    accept(&shared, request).await
}

/// The `Idempotency-Key` header: 1 to 64 visible ASCII characters, if given.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.as_bytes();
    if key.is_empty() || key.len() > 64 || !key.iter().all(u8::is_ascii_graphic) {
        return Err(ApiError::bad(
            "Idempotency-Key must be 1 to 64 visible ASCII characters (a UUID, say)".into(),
        ));
    }
    Ok(Some(key.to_vec()))
}

fn replied(reply: Reply) -> Replied {
    Replied {
        reply: reply.text,
        bytes: hex::encode(reply.bytes),
    }
}

async fn run_query(shared: &Arc<Shared>, request: CallRequest) -> Result<Replied, ApiError> {
    let CallRequest {
        canister,
        method,
        caller,
        args,
        ..
    } = request;
    let queries = shared.queries();
    blocking(move || {
        Ok(replied(queries.query(
            &canister,
            &method,
            args.borrow(),
            caller,
        )?))
    })
    .await
}

async fn query(
    State(shared): State<Arc<Shared>>,
    request: CallRequest,
) -> Result<Json<Replied>, ApiError> {
    Ok(Json(run_query(&shared, request).await?))
}

/// Like `commute call`: a query or update replies, a pure update or oneway is queued.
async fn call(
    State(shared): State<Arc<Shared>>,
    request: CallRequest,
) -> Result<Response, ApiError> {
    let mode = submit::mode(
        &shared.intake.registry(),
        &request.canister,
        &request.method,
    )?;
    match mode {
        Mode::PureUpdate | Mode::Oneway => accept(&shared, request).await,
        Mode::Query | Mode::CompositeQuery => {
            let replied = run_query(&shared, request).await?;
            Ok(Json(Called::Replied(replied)).into_response())
        }
        Mode::Update => {
            let CallRequest {
                canister,
                method,
                caller,
                args,
                ..
            } = request;
            // Checked here, so a bad call costs the round thread nothing.
            let checker = shared.clone();
            let (c, m) = (canister.clone(), method.clone());
            let args = blocking(move || {
                checker
                    .intake
                    .check(&c, &m, args.borrow(), caller, 0)
                    .map_err(ApiError::from)?;
                Ok(args)
            })
            .await?;
            let (reply, answer) = oneshot::channel();
            shared.to_rounds(Job::Update {
                canister,
                method,
                args,
                caller,
                reply,
            })?;
            let reply = answer.await.map_err(|_| ApiError::stopping())??;
            Ok(Json(Called::Replied(replied(reply))).into_response())
        }
    }
}

/// `?wait=SECONDS`, parsed by the handler so a bad value gets a JSON error.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct WaitQuery {
    wait: Option<String>,
}

async fn status(
    State(shared): State<Arc<Shared>>,
    Path(seq): Path<String>,
    Query(wait): Query<WaitQuery>,
) -> Result<Json<Ticket>, ApiError> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| ApiError::bad(format!("`{seq}` is not a seq (a whole number)")))?;
    let wait = match wait.wait.as_deref().map(str::parse::<f64>) {
        None => Duration::ZERO,
        // Capped before it becomes a Duration, which panics past u64 seconds.
        Some(Ok(w)) if w >= 0.0 => Duration::from_secs_f64(w.min(MAX_WAIT.as_secs_f64())),
        Some(_) => {
            return Err(ApiError::bad(format!(
                "wait={} is not a number of seconds",
                wait.wait.unwrap_or_default()
            )))
        }
    };
    let deadline = tokio::time::Instant::now() + wait;
    let mut commits = shared.commits.clone();
    let mut stopping = shared.stopping.clone();
    loop {
        // Mark the commits seen before reading, so a commit after the read wakes the wait.
        commits.borrow_and_update();
        let status = shared.queries().status(seq)?;
        let ticket = |status: &str, message: Option<String>| Ticket {
            seq,
            status: status.into(),
            message,
        };
        match status {
            Status::Unknown => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("no call was accepted as seq {seq}"),
                ))
            }
            Status::Finished(Outcome::Trapped(m)) => return Ok(Json(ticket("trapped", Some(m)))),
            Status::Finished(_) => return Ok(Json(ticket("done", None))),
            Status::Pending => {
                tokio::select! {
                    changed = commits.changed() => if changed.is_err() {
                        return Ok(Json(ticket("pending", None)));
                    },
                    () = tokio::time::sleep_until(deadline) => {
                        return Ok(Json(ticket("pending", None)));
                    }
                    _ = stopping.wait_for(|s| *s) => {
                        return Ok(Json(ticket("pending", None)));
                    }
                }
            }
        }
    }
}

async fn install(
    _: Operator,
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Installed>, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.split(';').next().unwrap_or("").trim() == "application/json");
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "an install request is JSON: send it as application/json".into(),
        ));
    }
    let bytes = read_capped(
        &shared,
        &headers,
        body,
        MAX_INSTALL_BYTES,
        "install requests",
    )
    .await?;
    let request: Install = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad(format!(
            "install request is not the expected JSON {{\"wasm\": HEX, \"did\"?: TEXT, \"did_file\"?: NAME, \"argument\"?: CANDID}}: {e}"
        ))
    })?;
    let wasm = hex::decode(&request.wasm)
        .map_err(|e| ApiError::bad(format!("install request: `wasm` is not hex: {e}")))?;
    let controllers = request
        .controllers
        .map(|texts| {
            texts
                .iter()
                .map(|t| {
                    Principal::from_text(t).map_err(|e| {
                        ApiError::bad(format!(
                            "install request: controller `{:.64}` is not a principal: {e}",
                            t.escape_debug().to_string()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let did = request.did.map(|text| {
        let file = request.did_file.unwrap_or_else(|| format!("{name}.did"));
        (file, text)
    });
    // Compiled here, on a blocking thread: the round thread's install then finds it
    // compiled, so a large module never stops the rounds for the seconds cranelift takes.
    let queries = shared.queries();
    let wasm = blocking(move || {
        queries.precompile(&wasm)?;
        Ok(wasm)
    })
    .await?;
    let (reply, answer) = oneshot::channel();
    shared.to_rounds(Job::Install {
        name: name.clone(),
        wasm,
        did,
        argument: request.argument,
        controllers,
        by: None,
        reply,
    })?;
    answer.await.map_err(|_| ApiError::stopping())??;
    Ok(Json(Installed { installed: name }))
}

async fn root(State(shared): State<Arc<Shared>>) -> Result<Json<RootHex>, ApiError> {
    Ok(Json(RootHex {
        root: shared.queries().root()?.to_hex(),
    }))
}

async fn dump(
    _: Operator,
    State(shared): State<Arc<Shared>>,
    Path(canister): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let canister = shared.resolve(canister);
    let queries = shared.queries();
    Ok(Json(blocking(move || Ok(queries.dump(&canister)?)).await?))
}
