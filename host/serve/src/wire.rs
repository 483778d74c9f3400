//! The JSON bodies of the HTTP API, shared by the server and [`crate::client`], so the two
//! cannot drift apart. Every error is `{"error": "one line"}` with a 4xx or 5xx status.

use serde::{Deserialize, Serialize};

/// `POST /submit/...`, and `POST /call/...` of a pure update or oneway: the call's ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The seq the call was accepted under; it is durable.
    pub seq: u64,
}

/// A query's or update's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replied {
    /// The reply in Candid text, e.g. `(3 : nat64)`.
    pub reply: String,
    /// The reply's Candid bytes, in hex.
    pub bytes: String,
}

/// `POST /call/...`: a ticket for a call that was queued, or a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Called {
    /// A pure update or oneway was queued.
    Queued(Queued),
    /// A query or update replied.
    Replied(Replied),
}

/// `GET /status/{seq}`: a ticket's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The seq asked about.
    pub seq: u64,
    /// `pending`, `done` or `trapped`.
    pub status: String,
    /// The trap message, for `trapped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Ticket {
    /// Whether the call has yet to run.
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }
}

impl std::fmt::Display for Ticket {
    /// The ticket as `commute status` prints it: `pending`, `done` or `trapped: MESSAGE`.
    ///
    /// ```
    /// use commute_serve::wire::Ticket;
    /// let t = Ticket { seq: 3, status: "trapped".into(), message: Some("out of fuel".into()) };
    /// assert_eq!(t.to_string(), "trapped: out of fuel");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {m}", self.status),
            None => f.write_str(&self.status),
        }
    }
}

/// `POST /install/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Install {
    /// The wasm module, in hex.
    pub wasm: String,
    /// The `.did` text; without it, the wasm's `icp:public candid:service` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// The `.did`'s file name, for error positions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did_file: Option<String>,
    /// Init arguments in Candid text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// Principals (text) that may upgrade it through the IC interface's `install_code`;
    /// absent keeps those it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controllers: Option<Vec<String>>,
}

/// `POST /install/{name}` answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// The canister's name.
    pub installed: String,
}

/// `GET /root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootHex {
    /// The state root, 64 hex characters.
    pub root: String,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `true` when answered.
    pub ok: bool,
    /// Commits (rounds, installs, updates) since the server started.
    pub commits: u64,
    /// Accepted calls not yet committed.
    pub pending: u64,
    /// The seq the next accepted call gets.
    pub next_seq: u64,
    /// The data dir the server owns, absolute: a client that found the server's address in
    /// a data dir checks it is that dir's server (the port may have been reused).
    pub data_dir: String,
}

/// Any error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    /// What was wrong, one line.
    pub error: String,
}
