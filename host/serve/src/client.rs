//! A blocking client of `commute serve` ([`crate::api`]): what the CLI uses when a
//! server owns the data dir, and what tests and `commute bench` fire calls with.
//!
//! ```no_run
//! use commute::{submit::Args, Principal};
//! use commute_serve::client::Client;
//!
//! let server = Client::new("http://127.0.0.1:4943");
//! let seq = server.submit("logger", "log", Args::Text(r#"(principal "aaaaa-aa", "hi")"#), Principal::anonymous())?;
//! let ticket = server.status(seq, Some(std::time::Duration::from_secs(10)))?;
//! assert_eq!(ticket.to_string(), "done");
//! # Ok::<(), commute_serve::client::ClientError>(())
//! ```

use crate::wire::{self, Called, Health, Install, Installed, Queued, Replied, RootHex, Ticket};
use candid::Principal;
use commute::submit::Args;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// A request to the server failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No server answered at the address (refused, reset, timed out).
    #[error("no commute server at {url}: {error}")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// What the transport said.
        error: String,
    },
    /// The server took connections but did not answer in time (stopped, or stuck).
    #[error("the commute server at {url} does not answer: {error}")]
    NoAnswer {
        /// The server's base URL.
        url: String,
        /// What the transport said.
        error: String,
    },
    /// The server refused the request; `message` is its one-line reason.
    #[error("{message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// Seconds to wait before retrying, for a 503.
        retry_after: Option<u64>,
    },
    /// The server's answer was not what the API promises.
    #[error("unexpected answer from {url}: {error}")]
    Protocol {
        /// The server's base URL.
        url: String,
        /// What was wrong.
        error: String,
    },
}

impl ClientError {
    /// Whether the server was reached and refused for now (the pending queue was full):
    /// the request may be sent again.
    pub fn is_busy(&self) -> bool {
        matches!(self, ClientError::Refused { status: 503, .. })
    }
}

/// Bodies larger than this ask the server to go ahead before they are sent.
const EXPECT_CONTINUE_OVER: usize = 64 << 10;

/// Sends `args` as the body of `request`, typed as Candid text or binary.
fn send_args(
    mut request: ureq::RequestBuilder<ureq::typestate::WithBody>,
    args: Args<'_>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    if args.len() > EXPECT_CONTINUE_OVER {
        // The server refuses a body over its cap from the headers; waiting for its
        // go-ahead lets us read that refusal instead of a broken pipe.
        request = request.header("expect", "100-continue");
    }
    match args {
        Args::Text(text) => request
            .content_type("text/x-candid; charset=utf-8")
            .send(text),
        Args::Binary(bytes) => request.content_type("application/candid").send(bytes),
    }
}

/// How long a health check waits.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long any other request waits for its whole answer, by default: past what a server
/// under load takes to install a large module or run an update's round, so that only a
/// server that has stopped answering (stuck, or stopped with SIGSTOP) ends it. A status
/// that long-polls waits this long past its own wait.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The most connections a client keeps open between requests, all of them to its one
/// server: one per thread of a load test of 64 clients.
const MAX_IDLE: usize = 64;

/// The most a response body may be: a dump of a large state.
const MAX_RESPONSE: u64 = 1 << 30;

/// A client of one server; cheap to clone, its connections are pooled and shared.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    /// `Bearer TOKEN`, for installs and dumps.
    authorization: Option<String>,
}

/// Resolves an address literal (`http://127.0.0.1:4943`, the usual URL) in place, names
/// as ureq does. ureq resolves before every request, pooled connection or not, and with a
/// timeout set it does so on a thread of its own: a thread spawned per call, which was
/// most of what a load test's client cost.
#[derive(Debug, Default)]
struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.authority().and_then(|authority| {
            let port = authority
                .port_u16()
                .or_else(|| (uri.scheme_str() == Some("https")).then_some(443))
                .unwrap_or(80);
            format!("{}:{port}", authority.host())
                .parse::<SocketAddr>()
                .ok()
        });
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The token of the server that owns `data_dir` ([`crate::TOKEN_FILE`] there), for
/// [`Client::with_token`].
///
/// # Errors
///
/// If the file cannot be read (no server has run on the dir), or is not a token.
pub fn read_token(data_dir: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let path = data_dir.join(crate::TOKEN_FILE);
    let mut text = String::new();
    // A token is 64 characters; a larger file is not one, and is not read whole.
    std::fs::File::open(&path)?
        .take(1024)
        .read_to_string(&mut text)?;
    let token = text.trim();
    if token.is_empty() || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: not a token", path.display()),
        ));
    }
    Ok(token.to_string())
}

impl Client {
    /// A client of the server at `url`, e.g. `http://127.0.0.1:4943` (`http://` is
    /// assumed when no scheme is given).
    pub fn new(url: &str) -> Client {
        Client::with_timeout(url, REQUEST_TIMEOUT)
    }

    /// [`Client::new`], with requests that wait at most `timeout` for their answer (a
    /// status's long poll this long past its own wait).
    pub fn with_timeout(url: &str, timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            // Refusals carry a message in their body: read it rather than fail on status.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(timeout))
            // Up to 64 connections kept open for reuse, however many threads share the
            // client: ureq keeps 10 in all by default, whatever the per-host cap says, so a
            // load test of 64 threads reconnected most of its requests' connections.
            .max_idle_connections(MAX_IDLE)
            .max_idle_connections_per_host(MAX_IDLE)
            .build();
        Client {
            agent: ureq::Agent::with_parts(
                config,
                DefaultConnector::default(),
                LiteralFirst::default(),
            ),
            authorization: None,
            url: if url.contains("://") {
                url.trim_end_matches('/').to_string()
            } else {
                format!("http://{}", url.trim_end_matches('/'))
            },
        }
    }

    /// This client, sending `token` with installs and dumps, which need the server's
    /// ([`crate::Server::token`], or [`read_token`] from its data dir).
    pub fn with_token(mut self, token: &str) -> Client {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET /health`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unreachable`] if no server answers.
    pub fn health(&self) -> Result<Health, ClientError> {
        // A live server answers at once; one that is stopped (SIGSTOP) or stuck must not
        // hang the CLI that probes it.
        let request = self
            .agent
            .get(self.at("/health"))
            .config()
            .timeout_global(Some(HEALTH_TIMEOUT))
            .build();
        self.answer(request.call())
    }

    /// Installs `wasm` as `name` with its `.did` (file name and text) and init arguments;
    /// `controllers`, if given, replace who may upgrade it through `install_code`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] with the server's reason: 401 or 403 without the server's
    /// token ([`Client::with_token`]).
    pub fn install(
        &self,
        name: &str,
        wasm: &[u8],
        did: Option<(&str, &str)>,
        argument: Option<&str>,
        controllers: Option<&[Principal]>,
    ) -> Result<(), ClientError> {
        let body = Install {
            wasm: hex::encode(wasm),
            did: did.map(|(_, text)| text.to_string()),
            did_file: did.map(|(file, _)| file.to_string()),
            argument: argument.map(str::to_string),
            controllers: controllers.map(|c| c.iter().map(Principal::to_text).collect()),
        };
        let body = serde_json::to_vec(&body).map_err(|e| ClientError::Protocol {
            url: self.url.clone(),
            error: e.to_string(),
        })?;
        let mut request = self
            .agent
            .post(self.at(&format!("/install/{name}")))
            .content_type("application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        if body.len() > EXPECT_CONTINUE_OVER {
            // A refusal (no token, say) comes before the module is sent, not as a broken pipe.
            request = request.header("expect", "100-continue");
        }
        let _: Installed = self.answer(request.send(&body[..]))?;
        Ok(())
    }

    /// Fires a pure update (or oneway); its seq once it is durable.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] naming what was wrong; 503 ([`ClientError::is_busy`]) when
    /// the pending queue is full.
    pub fn submit(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<u64, ClientError> {
        let queued: Queued = self.post_args("submit", canister, method, args, caller)?;
        Ok(queued.seq)
    }

    /// Fires a pure update (or oneway) under an idempotency key (1 to 64 visible ASCII
    /// characters, e.g. a UUID): the first request accepted with `key` gets a seq, and every
    /// retry of the same call with the same key gets that seq back, across server restarts,
    /// without queuing the call again. Retry freely when an answer is lost.
    ///
    /// # Errors
    ///
    /// As [`Client::submit`]; [`ClientError::Refused`] (409) if `key` names another call.
    pub fn submit_once(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
        key: &str,
    ) -> Result<u64, ClientError> {
        let request = self
            .agent
            .post(self.at(&format!("/submit/{canister}/{method}")))
            .query("caller", caller.to_text())
            .header("idempotency-key", key);
        let queued: Queued = self.answer(send_args(request, args))?;
        Ok(queued.seq)
    }

    /// Calls a method as `commute call` does: a query or update replies, a pure update or
    /// oneway is queued.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] naming what was wrong, or the trap.
    pub fn call(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<Called, ClientError> {
        self.post_args("call", canister, method, args, caller)
    }

    /// Runs a query.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] naming what was wrong, or the trap.
    pub fn query(
        &self,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<Replied, ClientError> {
        self.post_args("query", canister, method, args, caller)
    }

    /// Ticket `seq`'s status; with `wait`, once it is no longer pending or the wait (at most
    /// a minute) ends.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] (404) if no call was accepted as `seq`.
    pub fn status(&self, seq: u64, wait: Option<Duration>) -> Result<Ticket, ClientError> {
        let mut request = self.agent.get(self.at(&format!("/status/{seq}")));
        if let Some(wait) = wait {
            let timeout = self.agent.config().timeouts().global.map(|t| t + wait);
            request = request.query("wait", wait.as_secs_f64().to_string());
            return self.answer(request.config().timeout_global(timeout).build().call());
        }
        self.answer(request.call())
    }

    /// The state root, 64 hex characters.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unreachable`] if no server answers.
    pub fn root(&self) -> Result<String, ClientError> {
        let root: RootHex = self.answer(self.agent.get(self.at("/root")).call())?;
        Ok(root.root)
    }

    /// A canister's stable structures, as `commute dump` prints them.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] (404) if no such canister; 401 or 403 without the server's
    /// token ([`Client::with_token`]).
    pub fn dump(&self, canister: &str) -> Result<serde_json::Value, ClientError> {
        let mut request = self.agent.get(self.at(&format!("/dump/{canister}")));
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        self.answer(request.call())
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn post_args<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        canister: &str,
        method: &str,
        args: Args<'_>,
        caller: Principal,
    ) -> Result<T, ClientError> {
        let request = self
            .agent
            .post(self.at(&format!("/{endpoint}/{canister}/{method}")))
            .query("caller", caller.to_text());
        self.answer(send_args(request, args))
    }

    /// A 2xx answer's JSON, or the refusal the server gave.
    fn answer<T: DeserializeOwned>(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let protocol = |error: String| ClientError::Protocol {
            url: self.url.clone(),
            error,
        };
        let mut response = sent.map_err(|e| match e {
            ureq::Error::Timeout(_) => ClientError::NoAnswer {
                url: self.url.clone(),
                error: e.to_string(),
            },
            e => ClientError::Unreachable {
                url: self.url.clone(),
                error: e.to_string(),
            },
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| ClientError::Unreachable {
                url: self.url.clone(),
                error: e.to_string(),
            })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| protocol(e.to_string()));
        }
        let message = serde_json::from_slice::<wire::Error>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
        Err(ClientError::Refused {
            status: status.as_u16(),
            message,
            retry_after,
        })
    }
}
