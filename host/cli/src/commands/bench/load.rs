//! The load generator of `serve_calls_per_s`: keep-alive HTTP/1.1 connections to one
//! server, each sending one request at a time and the next once answered, all of them
//! driven by one thread, as `wrk` drives its connections.
//!
//! It runs on the machine it measures, so what it costs comes out of the server's share.
//! With a thread per connection (the blocking [`commute_serve::client::Client`], 64
//! threads), the threads took ~38% of the CPU samples while the server ran (perf, 2
//! cores), in context switches and the client's per-request bookkeeping. hyper's client
//! on one tokio thread waits on all the sockets at once instead.

use anyhow::{bail, Context};
use bytes::Bytes;
use commute_serve::wire::Queued;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// Connections to one server, kept open from one batch to the next.
pub(crate) struct Load {
    runtime: Runtime,
    /// The server's `host:port`.
    authority: String,
    connections: Vec<Option<SendRequest<Full<Bytes>>>>,
}

/// What a batch took: the wall time until every request was answered, and each request's
/// time from sent to answered with the seq it got.
pub(crate) type Fired = (Duration, Vec<(Duration, u64)>);

impl Load {
    /// `connections` connections to the server at `url` (`http://host:port`), opened as
    /// the first batch is fired.
    ///
    /// # Errors
    ///
    /// If the runtime cannot start or `url` is not `http://host:port`.
    pub(crate) fn new(url: &str, connections: usize) -> anyhow::Result<Load> {
        let Some(authority) = url.strip_prefix("http://") else {
            bail!("not an http:// URL: {url}");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("cannot start the load generator's runtime")?;
        Ok(Load {
            runtime,
            authority: authority.trim_end_matches('/').to_string(),
            connections: (0..connections).map(|_| None).collect(),
        })
    }

    /// POSTs each of `bodies` (Candid arguments) to `path`, spread over the connections,
    /// each sending its share one at a time. A connection known to be closed (the server's
    /// keep-alive timeout passed since the last batch, or a refusal ended its task) is
    /// opened again before the clock starts.
    ///
    /// # Errors
    ///
    /// If a connection fails or a call is not accepted.
    pub(crate) fn fire(&mut self, path: &str, bodies: &[Vec<u8>]) -> anyhow::Result<Fired> {
        let Load {
            runtime,
            authority,
            connections,
        } = self;
        runtime.block_on(async {
            for slot in connections.iter_mut() {
                if slot.as_ref().is_none_or(SendRequest::is_closed) {
                    *slot = Some(connect(authority).await?);
                }
            }
            Ok::<_, anyhow::Error>(())
        })?;
        let share = bodies.len().div_ceil(connections.len()).max(1);
        let shares: Vec<Vec<Bytes>> = bodies
            .chunks(share)
            .map(|chunk| chunk.iter().cloned().map(Bytes::from).collect())
            .collect();
        let started = Instant::now();
        let answered = runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for (at, share) in shares.into_iter().enumerate() {
                let sender = connections[at].take().expect("connected above");
                let request = Request {
                    authority: authority.clone(),
                    path: path.to_string(),
                };
                tasks.spawn(async move { (at, request.send_each(sender, share).await) });
            }
            let mut answered = Vec::with_capacity(bodies.len());
            while let Some(joined) = tasks.join_next().await {
                let (at, sent) = joined.context("a load task panicked")?;
                let (sender, mut each) = sent?;
                connections[at] = Some(sender);
                answered.append(&mut each);
            }
            Ok::<_, anyhow::Error>(answered)
        })?;
        Ok((started.elapsed(), answered))
    }
}

/// A connection to `authority`, its driver running on the current runtime.
async fn connect(authority: &str) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Where a connection's requests go.
struct Request {
    authority: String,
    path: String,
}

impl Request {
    /// Sends `bodies` one at a time on `sender`; gives it back with each one's time and
    /// seq.
    async fn send_each(
        self,
        mut sender: SendRequest<Full<Bytes>>,
        bodies: Vec<Bytes>,
    ) -> anyhow::Result<(SendRequest<Full<Bytes>>, Vec<(Duration, u64)>)> {
        let mut answered = Vec::with_capacity(bodies.len());
        for body in bodies {
            let request = hyper::Request::post(&self.path)
                .header(hyper::header::HOST, &self.authority)
                .header(hyper::header::CONTENT_TYPE, "application/candid")
                .body(Full::new(body))?;
            let sent = Instant::now();
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                bail!(
                    "{} {status}: {}",
                    self.path,
                    String::from_utf8_lossy(&body).trim()
                );
            }
            let queued: Queued = serde_json::from_slice(&body)
                .with_context(|| format!("{}: not a seq: {body:?}", self.path))?;
            answered.push((sent.elapsed(), queued.seq));
        }
        Ok((sender, answered))
    }
}
