//! The interface model: a canister's methods, their modes, typed arguments and keys.
//!
//! An [`Interface`] is what the host consults for every call: is the method there, in which
//! mode, do the arguments fit the declared types, and which keys does the call hold.
//!
//! Invariants:
//! - (A) Arguments accepted by [`Interface::decode_text`] or [`Interface::decode_binary`]
//!   are re-encoded against the *declared* types, so a guest always receives values of its
//!   own types, whichever form or subtype the caller sent. A binary message whose header
//!   (type table and argument types) is byte for byte the one that encoding writes already
//!   holds values of the declared types, so it passes as sent: decoding it proved as much,
//!   and re-encoding it was most of what checking a logging call cost.
//! - (B) A key is the canonical Candid encoding (header, type table, value) of one declared
//!   key argument, encoded against its declared type. Equal values of structurally equal
//!   types give equal keys, whichever method or parameter they came from (`docs/modes.md`); the
//!   host scopes them to the canister.
//! - (C) A message under the declared header whose arguments are all of plain types
//!   ([`scan`]), with few enough principals that candid's decoding quota cannot refuse
//!   it, is checked by reading its values in place. A scan accepts only what the decoder
//!   accepts and what candid writes itself, so it gives the bytes and keys the decoder
//!   would (law: `prop_a_scanned_call_is_the_call_the_decoder_gives`), and leaves every
//!   message it is unsure of to the decoder.

use binrw::BinRead;
use candid::binary_parser::Header;
use candid::types::value::IDLValue;
use candid::types::{Type, TypeInner};
use candid::{CandidType, IDLArgs, TypeEnv};
use scan::Plain;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

mod scan;

/// How a method runs (`docs/modes.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Reads the last committed state, writes nothing, replies.
    Query,
    /// A query that may call other queries; runs like [`Mode::Query`] here.
    CompositeQuery,
    /// Reads and writes, serially in seq order, replies.
    Update,
    /// Like [`Mode::Update`], without a reply.
    Oneway,
    /// Cannot read; emits commutative writes; runs in parallel rounds; no reply.
    PureUpdate,
}

impl Mode {
    /// Whether calls in this mode are answered with a reply.
    ///
    /// ```
    /// use commute_did::Mode;
    /// assert!(Mode::Query.replies());
    /// assert!(!Mode::PureUpdate.replies());
    /// ```
    pub fn replies(self) -> bool {
        matches!(self, Mode::Query | Mode::CompositeQuery | Mode::Update)
    }

    /// The wasm export that implements a method in this mode, IC convention (`docs/guest-abi.md`).
    ///
    /// ```
    /// use commute_did::Mode;
    /// assert_eq!(Mode::PureUpdate.export_name("log"), "canister_update log");
    /// assert_eq!(Mode::CompositeQuery.export_name("v"), "canister_composite_query v");
    /// ```
    pub fn export_name(self, method: &str) -> String {
        match self {
            Mode::Query => format!("canister_query {method}"),
            Mode::CompositeQuery => format!("canister_composite_query {method}"),
            Mode::Update | Mode::Oneway | Mode::PureUpdate => format!("canister_update {method}"),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Query => "query",
            Mode::CompositeQuery => "composite_query",
            Mode::Update => "update",
            Mode::Oneway => "oneway",
            Mode::PureUpdate => "pure_update",
        })
    }
}

/// One declared argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The name given in the `.did`, if any.
    pub name: Option<String>,
    /// The declared type (may name a type of the interface's environment).
    pub ty: Type,
}

/// One method of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// The method name, unquoted.
    pub name: String,
    /// How it runs.
    pub mode: Mode,
    /// Declared arguments, in order.
    pub args: Vec<Arg>,
    /// Declared result types.
    pub rets: Vec<Type>,
    /// Positions of the key arguments, in the order `key(...)` names them; empty for
    /// methods that hold no key (and for every mode but [`Mode::PureUpdate`]).
    pub keys: Vec<usize>,
}

impl Method {
    fn arg_types(&self) -> Vec<Type> {
        self.args.iter().map(|a| a.ty.clone()).collect()
    }
}

/// A call's arguments, checked against the declared types.
#[derive(Debug, Clone, PartialEq)]
pub struct CallArgs {
    /// The values' Candid encoding against the declared types: what the guest receives.
    pub bytes: Vec<u8>,
    /// One canonical key per declared key argument (invariant B), in `key(...)` order.
    pub keys: Vec<Vec<u8>>,
}

/// A call's arguments (or a reply) do not fit the interface.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArgError {
    /// No method by that name.
    #[error("no method `{0}` in the interface")]
    UnknownMethod(String),
    /// The text is not Candid.
    #[error("arguments to `{method}` are not Candid text: {message}")]
    Syntax {
        /// The method called.
        method: String,
        /// What the parser said.
        message: String,
    },
    /// The text nests deeper than [`MAX_NESTING`](crate::MAX_NESTING) levels.
    #[error(
        "arguments to `{method}` nest more than {} levels deep (the limit) at byte {offset}",
        crate::MAX_NESTING
    )]
    Nesting {
        /// The method called.
        method: String,
        /// Where in the text the limit was passed.
        offset: usize,
    },
    /// Too many arguments, or a missing one that is not optional.
    #[error("`{method}` takes {expected} argument(s), got {got}")]
    Count {
        /// The method called.
        method: String,
        /// How many it declares.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// One argument does not fit its declared type.
    #[error("argument {arg} of `{method}` does not fit `{ty}`: {message}")]
    Type {
        /// The method called.
        method: String,
        /// The argument, by name or `#position`.
        arg: String,
        /// Its declared type.
        ty: String,
        /// What the decoder said.
        message: String,
    },
    /// Binary arguments that are not a Candid message at all.
    #[error("arguments to `{method}` are not a Candid message: {message}")]
    Binary {
        /// The method called.
        method: String,
        /// What the decoder said.
        message: String,
    },
    /// A reply that does not fit the declared result types.
    #[error("reply of `{method}` does not fit its result types: {message}")]
    Reply {
        /// The method called.
        method: String,
        /// What the decoder said.
        message: String,
    },
}

/// A service: its methods by name, its init arguments and the types they use.
#[derive(Debug, Clone)]
pub struct Interface {
    env: TypeEnv,
    methods: BTreeMap<String, Method>,
    init: Vec<Arg>,
    /// Per method, the headers of its canonical encodings, once one was made.
    headers: BTreeMap<String, Headers>,
}

/// The headers (`DIDL`, type table, argument types) of a method's canonical encodings, each
/// set the first time one is made. Values are encoded after them, so with the header known
/// only the value needs encoding, or checking.
#[derive(Debug, Clone, Default)]
struct Headers {
    /// Of its arguments (invariant A's fast path).
    args: OnceCell<Vec<u8>>,
    /// Of each key argument alone, in `Method::keys`' order, where its type is one whose
    /// values encode the same whatever type they are annotated with (invariant B's fast
    /// path): see [`plain_key`].
    keys: Vec<OnceCell<Vec<u8>>>,
    /// Its arguments' types, if every one is plain (invariant C's fast path).
    plain: Option<Vec<Plain>>,
}

impl Headers {
    /// The call `bytes` of `m` make, if it is sure from a scan alone (invariant C): the
    /// declared header, plain values that end where the message ends, and every key's
    /// header known. `None` leaves the message to the decoder.
    fn scan(&self, m: &Method, bytes: &[u8]) -> Option<CallArgs> {
        let (plain, header) = (self.plain.as_ref()?, self.args.get()?);
        let mut at = header.len();
        if !bytes.starts_with(header) {
            return None;
        }
        let mut spans = Vec::with_capacity(plain.len());
        for p in plain {
            let end = at + p.scan(&bytes[at..])?;
            spans.push(at..end);
            at = end;
        }
        if at != bytes.len() {
            return None;
        }
        let keys = m
            .keys
            .iter()
            .zip(&self.keys)
            .map(|(&p, header)| {
                // Invariant B: a plain value's bytes are its canonical encoding's tail.
                let mut key = header.get()?.clone();
                key.extend_from_slice(&bytes[spans[p].clone()]);
                Some(key)
            })
            .collect::<Option<_>>()?;
        Some(CallArgs {
            bytes: bytes.to_vec(),
            keys,
        })
    }
}

/// The error for argument `i` of `args` (of `method`) not fitting its type.
fn type_error(method: &str, args: &[Arg], i: usize, e: candid::Error) -> ArgError {
    let arg = match args[i].name.as_deref() {
        Some(name) => format!("`{name}`"),
        None => format!("#{i}"),
    };
    ArgError::Type {
        method: method.to_string(),
        arg,
        ty: args[i].ty.to_string(),
        message: collapse(e),
    }
}

/// Work allowed when decoding a hostile binary message, per byte of input, on top of a
/// fixed allowance. Bounds the classic `vec null` amplification: hostile input
/// hangs nothing (`docs/limits.md`).
const DECODING_QUOTA_PER_BYTE: usize = 64;
const DECODING_QUOTA_BASE: usize = 1 << 20;

/// The most bytes of a parser's or decoder's message an error repeats: candid's messages
/// quote the offending token or dump the input in hex, which for a 1 MB argument is a
/// 1 MB "one line".
const MESSAGE_BYTES: usize = 400;

/// `message` on one line, its middle cut when it is longer than [`MESSAGE_BYTES`]: the
/// start says what went wrong, the end where (candid puts the offset of the fault last).
fn collapse(message: impl ToString) -> String {
    let line = message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if line.len() <= MESSAGE_BYTES {
        return line;
    }
    let head = line.floor_char_boundary(MESSAGE_BYTES / 2);
    let tail = line.ceil_char_boundary(line.len() - MESSAGE_BYTES / 2);
    format!(
        "{} [… {} bytes cut …] {}",
        &line[..head],
        tail - head,
        &line[tail..]
    )
}

impl Interface {
    /// Assembles an interface. Used by [`crate::Did`]; methods must be keyed by their name.
    pub(crate) fn new(env: TypeEnv, methods: BTreeMap<String, Method>, init: Vec<Arg>) -> Self {
        let headers = methods
            .iter()
            .map(|(name, m)| {
                let keys = m.keys.iter().map(|_| OnceCell::new()).collect();
                let args = OnceCell::new();
                // Half the quota's fixed part: the rest is margin for what candid
                // charges per value beyond its bytes (invariant C).
                let plain = m
                    .args
                    .iter()
                    .map(|a| Plain::of(&a.ty))
                    .collect::<Option<Vec<_>>>()
                    .filter(|plain| scan::within_quota(plain, DECODING_QUOTA_BASE / 2));
                (name.clone(), Headers { args, keys, plain })
            })
            .collect();
        Interface {
            env,
            methods,
            init,
            headers,
        }
    }

    /// The method called `name`.
    ///
    /// ```
    /// use commute_did::{Did, Mode};
    ///
    /// let did = Did::parse("a.did", "service : { bump : (text) -> () pure_update }").unwrap();
    /// assert_eq!(did.interface().method("bump").unwrap().mode, Mode::PureUpdate);
    /// assert!(did.interface().method("nope").is_none());
    /// ```
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.get(name)
    }

    /// Every method, in name order.
    pub fn methods(&self) -> impl Iterator<Item = &Method> {
        self.methods.values()
    }

    /// The init arguments (`service : (ARGS) -> { ... }`), empty if none.
    pub fn init_args(&self) -> &[Arg] {
        &self.init
    }

    /// The named types the signatures refer to.
    pub fn env(&self) -> &TypeEnv {
        &self.env
    }

    fn lookup(&self, method: &str) -> Result<&Method, ArgError> {
        self.method(method)
            .ok_or_else(|| ArgError::UnknownMethod(method.to_string()))
    }

    /// Checks arguments written in Candid text, as `dfx canister call` takes them, e.g.
    /// `(principal "aaaaa-aa", "hi")`. Numbers take their declared type; trailing `opt`,
    /// `null` and `reserved` arguments may be left out.
    ///
    /// # Errors
    ///
    /// [`ArgError`] naming the method, and the argument where one is at fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute_did::Did;
    ///
    /// let did = Did::parse("a.did", "service : {
    ///     log : (user : principal, n : nat64) -> () pure_update key(user) }").unwrap();
    /// let iface = did.interface();
    /// let args = iface.decode_text("log", r#"(principal "aaaaa-aa", 5)"#).unwrap();
    /// assert_eq!(args.keys.len(), 1);
    /// let err = iface.decode_text("log", r#"("aaaaa-aa", 5)"#).unwrap_err();
    /// assert!(err.to_string().starts_with("argument `user` of `log` does not fit `principal`"));
    /// ```
    pub fn decode_text(&self, method: &str, text: &str) -> Result<CallArgs, ArgError> {
        let m = self.lookup(method)?;
        let values = self.annotate_text(&m.name, &m.args, text)?;
        self.finish(m, values)
    }

    /// Checks init arguments (`service : (ARGS) -> ...`) written in Candid text and encodes
    /// them; `None` stands for `()`, which fits only if every init argument may be omitted.
    ///
    /// # Errors
    ///
    /// [`ArgError`] naming `init` as the method, and the argument at fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute_did::Did;
    ///
    /// let did = Did::parse("a.did", "service : (owner : principal) -> {}").unwrap();
    /// assert!(did.interface().encode_init(Some(r#"(principal "aaaaa-aa")"#)).is_ok());
    /// let err = did.interface().encode_init(None).unwrap_err();
    /// assert!(err.to_string().starts_with("argument `owner` of `init` does not fit"));
    /// ```
    pub fn encode_init(&self, text: Option<&str>) -> Result<Vec<u8>, ArgError> {
        let values = self.annotate_text("init", &self.init, text.unwrap_or("()"))?;
        let types: Vec<Type> = self.init.iter().map(|a| a.ty.clone()).collect();
        values
            .to_bytes_with_types(&self.env, &types)
            .map_err(|e| ArgError::Binary {
                method: "init".to_string(),
                message: collapse(e),
            })
    }

    /// Parses `text` and types each value as the declared `args` of `method`.
    fn annotate_text(&self, method: &str, args: &[Arg], text: &str) -> Result<IDLArgs, ArgError> {
        crate::nesting::check(text).map_err(|e| ArgError::Nesting {
            method: method.to_string(),
            offset: e.offset,
        })?;
        let parsed = candid_parser::parse_idl_args(text).map_err(|e| {
            // The commonest slip, a bare value, gets the shape spelled out first: the
            // parser alone says only which token it expected.
            let hint = if text.trim_start().starts_with('(') {
                ""
            } else {
                "arguments are a Candid tuple in parentheses, e.g. `(\"alice\", 5)`: "
            };
            ArgError::Syntax {
                method: method.to_string(),
                message: format!("{hint}{}", collapse(e)),
            }
        })?;
        if parsed.args.len() > args.len() {
            return Err(ArgError::Count {
                method: method.to_string(),
                expected: args.len(),
                got: parsed.args.len(),
            });
        }
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let value = match parsed.args.get(i) {
                Some(v) => v.annotate_type(true, &self.env, &arg.ty),
                None => self.omitted(&arg.ty).ok_or(()).map_err(|()| {
                    candid::Error::msg("missing, and only opt, null and reserved may be left out")
                }),
            };
            values.push(value.map_err(|e| type_error(method, args, i, e))?);
        }
        Ok(IDLArgs { args: values })
    }

    /// Checks arguments in Candid binary, as another canister or an agent sends them.
    /// Candid subtyping applies (extra record fields are dropped, missing `opt` fields
    /// become `null`), and decoding work is bounded by the input's size.
    ///
    /// # Errors
    ///
    /// [`ArgError`] naming the method, and the argument where one is at fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute_did::Did;
    ///
    /// let did = Did::parse("a.did", "service : { bump : (page : text) -> () pure_update }")
    ///     .unwrap();
    /// let bytes = candid::encode_one("home").unwrap();
    /// let args = did.interface().decode_binary("bump", &bytes).unwrap();
    /// assert_eq!(args.bytes, bytes);
    /// assert!(did.interface().decode_binary("bump", b"junk").is_err());
    /// ```
    pub fn decode_binary(&self, method: &str, bytes: &[u8]) -> Result<CallArgs, ArgError> {
        let m = self.lookup(method)?;
        let headers = self.headers.get(method);
        if let Some(args) = headers.and_then(|h| h.scan(m, bytes)) {
            return Ok(args);
        }
        self.decode_whole(m, headers, bytes)
    }

    /// [`Interface::decode_binary`] by candid's decoder: every value decoded and checked.
    fn decode_whole(
        &self,
        m: &Method,
        headers: Option<&Headers>,
        bytes: &[u8],
    ) -> Result<CallArgs, ArgError> {
        let binary = |e: candid::Error| ArgError::Binary {
            method: m.name.clone(),
            message: collapse(e),
        };
        let quota = DECODING_QUOTA_BASE + DECODING_QUOTA_PER_BYTE * bytes.len();
        let mut config = candid::de::DecoderConfig::new();
        config.set_decoding_quota(quota).set_skipping_quota(quota);
        let mut de = candid::de::IDLDeserialize::new_with_config(bytes, &config).map_err(binary)?;
        let mut values = Vec::with_capacity(m.args.len());
        for (i, arg) in m.args.iter().enumerate() {
            let value = de
                .get_value_with_type(&self.env, &arg.ty)
                .map_err(|e| type_error(&m.name, &m.args, i, e))?;
            values.push(value);
        }
        de.done().map_err(binary)?;
        let values = IDLArgs { args: values };
        let header = headers.map(|h| &h.args);
        if header
            .and_then(OnceCell::get)
            .is_some_and(|h| bytes.starts_with(h))
        {
            // Invariant A: the declared types' own header, so values of those types.
            let keys = self.keys(m, &values)?;
            return Ok(CallArgs {
                bytes: bytes.to_vec(),
                keys,
            });
        }
        let args = self.finish(m, values)?;
        if let Some(cell) = header.filter(|c| c.get().is_none()) {
            let mut probe = std::io::Cursor::new(&args.bytes);
            if Header::read_le_args(&mut probe, (None,)).is_ok() {
                let end = usize::try_from(probe.position()).unwrap_or(0);
                let _ = cell.set(args.bytes[..end].to_vec());
            }
        }
        Ok(args)
    }

    /// Decodes a reply of `method` against its declared result types; `Display` on the
    /// result prints Candid text with types, e.g. `(10 : nat64)`.
    ///
    /// # Errors
    ///
    /// [`ArgError::Reply`] if the bytes do not decode to the result types.
    ///
    /// ```
    /// use commute_did::Did;
    ///
    /// let did = Did::parse("a.did", "service : { count : () -> (nat64) query }").unwrap();
    /// let reply = candid::encode_one(10u64).unwrap();
    /// let text = did.interface().decode_reply("count", &reply).unwrap().to_string();
    /// assert_eq!(text, "(10 : nat64)");
    /// ```
    pub fn decode_reply(&self, method: &str, bytes: &[u8]) -> Result<IDLArgs, ArgError> {
        let m = self.lookup(method)?;
        IDLArgs::from_bytes_with_types(bytes, &self.env, &m.rets).map_err(|e| ArgError::Reply {
            method: method.to_string(),
            message: collapse(e),
        })
    }

    /// The value an omitted trailing argument of type `ty` takes, if it may be omitted.
    fn omitted(&self, ty: &Type) -> Option<IDLValue> {
        match self.env.trace_type(ty).ok()?.as_ref() {
            TypeInner::Null => Some(IDLValue::Null),
            TypeInner::Reserved => Some(IDLValue::Reserved),
            TypeInner::Opt(_) => Some(IDLValue::None),
            _ => None,
        }
    }

    /// Encodes checked values against the declared types and derives the keys.
    fn finish(&self, m: &Method, values: IDLArgs) -> Result<CallArgs, ArgError> {
        let bytes = values
            .to_bytes_with_types(&self.env, &m.arg_types())
            .map_err(|e| encode_error(m, e))?;
        let keys = self.keys(m, &values)?;
        Ok(CallArgs { bytes, keys })
    }

    /// The keys of a call of `m` with `values` (invariant B).
    fn keys(&self, m: &Method, values: &IDLArgs) -> Result<Vec<Vec<u8>>, ArgError> {
        let headers = self.headers.get(&m.name).map(|h| &h.keys[..]);
        m.keys
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let (value, ty) = (&values.args[p], &m.args[p].ty);
                let header = headers
                    .and_then(|h| h.get(i))
                    .filter(|_| plain_key(ty, value));
                if let Some(header) = header.and_then(OnceCell::get) {
                    let mut key = header.clone();
                    key.extend_from_slice(&value_bytes(value).map_err(|e| encode_error(m, e))?);
                    return Ok(key);
                }
                // Invariant B: one value, its declared type, the canonical encoding.
                let key = IDLArgs::new(std::slice::from_ref(value))
                    .to_bytes_with_types(&self.env, std::slice::from_ref(ty))
                    .map_err(|e| encode_error(m, e))?;
                if let Some(cell) = header {
                    // The header is what precedes the value; kept only if that is so.
                    let bytes = value_bytes(value).map_err(|e| encode_error(m, e))?;
                    if let Some(head) = key.strip_suffix(&bytes[..]) {
                        let _ = cell.set(head.to_vec());
                    }
                }
                Ok(key)
            })
            .collect()
    }
}

/// An encoding error of `m`'s arguments, which a checked value of a declared type cannot
/// have but for a bug.
fn encode_error(m: &Method, e: candid::Error) -> ArgError {
    ArgError::Binary {
        method: m.name.clone(),
        message: collapse(e),
    }
}

/// Whether `value`, checked against `ty`, is a primitive of that very type, so that its
/// canonical encoding is the type's header then [`value_bytes`]: annotating it with `ty`
/// changes nothing. Composite types (whose fields subtyping may drop or reorder) and
/// floats (whose bits are left alone, but need no key speed) take the general path.
fn plain_key(ty: &Type, value: &IDLValue) -> bool {
    matches!(
        (ty.as_ref(), value),
        (TypeInner::Principal, IDLValue::Principal(_))
            | (TypeInner::Text, IDLValue::Text(_))
            | (TypeInner::Bool, IDLValue::Bool(_))
            | (TypeInner::Nat, IDLValue::Nat(_))
            | (TypeInner::Int, IDLValue::Int(_))
            | (TypeInner::Nat8, IDLValue::Nat8(_))
            | (TypeInner::Nat16, IDLValue::Nat16(_))
            | (TypeInner::Nat32, IDLValue::Nat32(_))
            | (TypeInner::Nat64, IDLValue::Nat64(_))
            | (TypeInner::Int8, IDLValue::Int8(_))
            | (TypeInner::Int16, IDLValue::Int16(_))
            | (TypeInner::Int32, IDLValue::Int32(_))
            | (TypeInner::Int64, IDLValue::Int64(_))
    )
}

/// The bytes `value` encodes to after the header: the value alone.
fn value_bytes(value: &IDLValue) -> Result<Vec<u8>, candid::Error> {
    let mut serializer = candid::ser::ValueSerializer::new();
    value.idl_serialize(&mut serializer)?;
    Ok(serializer.get_result().to_vec())
}

#[cfg(test)]
mod tests;
