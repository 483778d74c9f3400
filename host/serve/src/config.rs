//! How long `commute serve` waits on a client, per connection: each bound frees what a client
//! that stops sending holds (a connection, a task, a share of the body budget).

use std::time::Duration;

/// The server's bounds on slow and idle clients. [`ServeConfig::default`] suits a server on
/// loopback or a LAN; tests set them small.
///
/// ```
/// use commute_serve::ServeConfig;
/// use std::time::Duration;
/// let quick = ServeConfig { keep_alive_timeout: Duration::from_millis(200), ..ServeConfig::default() };
/// assert!(quick.keep_alive_timeout < ServeConfig::default().keep_alive_timeout);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// From a request's first byte to its last header line (10 s): headers that never
    /// finish close the connection.
    pub header_timeout: Duration,
    /// How long a connection may send nothing while no request is under way (30 s): on a
    /// fresh connection, and between requests of a kept-alive one. Past it, it is closed.
    /// Above the 15 s a pooled client (ureq's default) keeps a connection, so a client does
    /// not send on one the server has just closed.
    pub keep_alive_timeout: Duration,
    /// The longest a request body may pause between two pieces (10 s): a body trickled a
    /// byte at a time is cut off with 408 however long its total is allowed to be.
    pub body_idle_timeout: Duration,
    /// How long a whole request body may take to arrive (30 s).
    pub body_timeout: Duration,
    /// Whether the JSON API takes `?caller=P` on trust (true): a development convenience,
    /// since any local process may then act as any principal. When false, a request that
    /// names a caller gets 403, and only senders verified by the IC interface reach
    /// `msg_caller` as anything but the anonymous principal.
    pub json_caller: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            json_caller: true,
        }
    }
}
