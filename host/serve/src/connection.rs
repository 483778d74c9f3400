//! Connections: the loop that takes them, and the deadlines each one keeps.
//!
//! Each connection is a tokio task, not a thread: one that has not sent yet costs its
//! socket and a small task (about 1.3 KiB measured; 20,000 of them, 25 MiB), one kept alive
//! after a request also hyper's buffers (about 10 KiB), so idle clients take no threads and
//! little memory, and the worker threads serve whoever sends. hyper is driven here rather than
//! through `axum::serve`, which closes no connection that stops sending: each connection
//! here watches its own [`Phase`] and is dropped (closed) when the phase's deadline passes.
//!
//! # Invariants
//!
//! - (A) A connection with no request under way that sends nothing for
//!   [`ServeConfig::keep_alive_timeout`] (since it was accepted or last answered) is closed.
//! - (B) A request's headers are whole within [`ServeConfig::header_timeout`] of its first
//!   byte, or the connection is closed.
//! - (C) While a request is under way the connection has no deadline of its own: its body
//!   keeps `body`'s timeouts and its handler ends (a long poll within `MAX_WAIT`).
//! - (D) Stopping: no connection is taken after the stop; idle ones close at once, one with
//!   a request under way once it is answered; [`serve`] returns when all are closed.
//! - (E) An accept that fails for want of descriptors or memory is retried after a pause, so
//!   a full descriptor table neither stops the server nor spins a core.

use super::ServeConfig;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long the loop pauses after an accept failed for want of resources (invariant E).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// How many connections the kernel may hold for us before we accept them; it caps this
/// at `net.core.somaxconn`. The standard library's 128 overflows when thousands connect at
/// once, and each connection dropped there waits a second or more to try again.
const BACKLOG: u32 = 4096;

/// A listener on `addr`, non-blocking, for [`serve`].
pub(super) fn bind(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As the standard library does: a restarted server can take its port back at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(BACKLOG)?;
    listener.into_std()
}

/// Takes connections on `listener` until `shutdown` resolves, then closes them as
/// invariant D says and returns once all are closed.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) {
    let config = Arc::new(config);
    let (stopping_tx, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _)) => {
                // Answers are written whole; waiting to batch them only adds latency.
                let _ = stream.set_nodelay(true);
                let task = one(stream, router.clone(), config.clone(), stopping.clone());
                tokio::spawn(task);
            }
            // The peer gave up before we took it: nothing to do.
            Err(e) if is_peer_error(&e) => {}
            // Out of descriptors or memory (invariant E).
            Err(_) => {
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_PAUSE) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    drop(stopping);
    stopping_tx.send_replace(true);
    // Each connection holds a receiver until it is closed (invariant D).
    stopping_tx.closed().await;
}

fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// Serves one connection until it closes, times out (invariants A, B) or the server stops.
async fn one(
    stream: TcpStream,
    router: Router,
    config: Arc<ServeConfig>,
    mut stopping: watch::Receiver<bool>,
) {
    // Until its first byte a connection costs its socket and this small task: hyper's
    // state and buffers (boxed, so not reserved in this task) come when it sends.
    let accepted = Instant::now();
    // A peek, not `readable()`, which a fresh socket passes at once (a false positive).
    let mut first = [0u8; 1];
    tokio::select! {
        peeked = stream.peek(&mut first) => if !matches!(peeked, Ok(1..)) { return },
        () = tokio::time::sleep_until(accepted + config.keep_alive_timeout) => return,
        _ = stopping.wait_for(|s| *s) => return,
    }
    Box::pin(http(stream, router, config, stopping, accepted)).await;
}

/// [`one`], from the connection's first byte.
async fn http(
    stream: TcpStream,
    router: Router,
    config: Arc<ServeConfig>,
    mut stopping: watch::Receiver<bool>,
    accepted: Instant,
) {
    let phase = Watch::new(accepted);
    let io = TokioIo::new(Watched {
        stream,
        phase: phase.clone(),
    });
    let router = TowerToHyperService::new(router);
    let service = {
        let phase = phase.clone();
        hyper::service::service_fn(move |request| {
            phase.set(Phase::Busy);
            let answer = hyper::service::Service::call(&router, request);
            let phase = phase.clone();
            async move {
                let answered = answer.await;
                phase.set(Phase::Idle {
                    since: Instant::now(),
                });
                answered
            }
        })
    };
    let mut conn = pin!(http1::Builder::new().serve_connection(io, service));
    // Borrowed, not moved: the receiver must live as long as the connection (invariant D).
    let mut stop = pin!(async {
        let _ = stopping.wait_for(|s| *s).await;
    });
    let mut stopped = false;
    let mut deadline = pin!(tokio::time::sleep_until(Instant::now()));
    std::future::poll_fn(|cx: &mut Context<'_>| {
        if !stopped && stop.as_mut().poll(cx).is_ready() {
            stopped = true;
            conn.as_mut().graceful_shutdown();
        }
        if conn.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        // Read after the poll: the phase changes only inside it (reads, requests, answers).
        if let Some(at) = phase.deadline(&config) {
            if deadline.deadline() != at {
                deadline.as_mut().reset(at);
            }
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(()); // dropping the connection closes it
            }
        }
        Poll::Pending
    })
    .await;
}

/// Where a connection is in its request cycle, which sets its deadline.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request under way since `since`, and nothing sent since (invariant A).
    Idle { since: Instant },
    /// A request's first byte arrived at `since`, not yet all its headers (invariant B).
    Head { since: Instant },
    /// A request is being read or answered (invariant C).
    Busy,
}

/// A connection's phase, shared by its socket (reads), its service (requests and answers)
/// and its task (the deadline); all on the connection's task, so the lock is never waited on.
#[derive(Debug, Clone)]
struct Watch(Arc<Mutex<Phase>>);

impl Watch {
    /// Idle since `since`.
    fn new(since: Instant) -> Watch {
        Watch(Arc::new(Mutex::new(Phase::Idle { since })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.lock() = phase;
    }

    /// Bytes arrived: on an idle connection, a request has begun.
    fn read(&self) {
        let mut phase = self.lock();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Head {
                since: Instant::now(),
            };
        }
    }

    fn deadline(&self, config: &ServeConfig) -> Option<Instant> {
        match *self.lock() {
            Phase::Idle { since } => Some(since + config.keep_alive_timeout),
            Phase::Head { since } => Some(since + config.header_timeout),
            Phase::Busy => None,
        }
    }
}

/// The socket, telling the phase when bytes arrive.
struct Watched {
    stream: TcpStream,
    phase: Watch,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.phase.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
