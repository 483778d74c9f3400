//! The imports off wasm32: an in-memory host, one per thread, so canister code unit-tests
//! natively (as stable-structures serves `DefaultMemoryImpl` from a `VectorMemory`).
//!
//! It keeps the host's rules that a unit test can observe:
//!
//! - (A) an import its mode forbids panics, naming the import, the mode and the method
//!   (the host traps the call the same way); the mode is the one the running
//!   `#[query]`/`#[pure_update]`/... function entered, or "update" outside any;
//! - (B) counters sum exactly as `i128`, wrapping at 2^127; maps iterate keys in byte order;
//!   lists keep push order;
//! - (C) `msg_reply` at most once per call; `trap` panics with its message.
//!
//! Writes apply at once: running calls one after another natively is the serial order the
//! host's merge is equivalent to (`docs/modes.md`). Nothing is rolled back when a call panics.
//! [`crate::testing`] is the public face of this state.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;

use candid::Principal;
use commute_abi::{call_pure_status, Mode};

use crate::testing::{PureCall, Reply};

/// The simulated host of one thread.
pub(crate) struct State {
    /// The innermost entered method: its mode and name.
    pub(crate) mode: Option<(Mode, String)>,
    pub(crate) caller: Vec<u8>,
    pub(crate) canister_self: Vec<u8>,
    pub(crate) time: u64,
    pub(crate) arg: Vec<u8>,
    /// Reply bytes appended so far.
    pub(crate) reply_buf: Vec<u8>,
    pub(crate) reply: Option<Reply>,
    pub(crate) counters: BTreeMap<(Vec<u8>, Vec<u8>), i128>,
    pub(crate) maps: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>,
    pub(crate) lists: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    pub(crate) calls: Vec<PureCall>,
    /// What `call_pure` returns for a well-formed call.
    pub(crate) call_pure_status: i32,
    pub(crate) prints: Vec<String>,
}

/// The principal of the first canister a local IC replica creates,
/// `rrkah-fqaaa-aaaaa-aaaaq-cai`: the native default for `canister_self`.
pub(crate) const DEFAULT_SELF: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 1, 1, 1];

impl Default for State {
    fn default() -> Self {
        State {
            mode: None,
            caller: Principal::anonymous().as_slice().to_vec(),
            canister_self: DEFAULT_SELF.to_vec(),
            time: 0,
            arg: candid::encode_args(()).expect("the empty tuple encodes"),
            reply_buf: Vec::new(),
            reply: None,
            counters: BTreeMap::new(),
            maps: BTreeMap::new(),
            lists: BTreeMap::new(),
            calls: Vec::new(),
            call_pure_status: call_pure_status::QUEUED,
            prints: Vec::new(),
        }
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Runs `f` on this thread's state.
pub(crate) fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Invariant (A): panics if the current mode forbids `module.name`.
fn check(module: &str, name: &str) {
    let import =
        commute_abi::import(module, name).expect("every native import is in the ABI table");
    let refused = with(|s| match &s.mode {
        Some((mode, method)) if !import.allowed_in(*mode) => Some((*mode, method.clone())),
        _ => None,
    });
    if let Some((mode, method)) = refused {
        panic!("{module}.{name} is not allowed in {mode} method `{method}`");
    }
}

/// Reads `len` bytes at `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for reads of `len` bytes (any value if `len` is 0).
unsafe fn bytes<'a>(ptr: usize, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees `ptr` is valid for `len` bytes.
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
}

/// Reads `len` bytes at `ptr` as text (lossily: the host would trap on invalid UTF-8).
///
/// # Safety
///
/// As [`bytes`].
unsafe fn text(ptr: usize, len: usize) -> String {
    // SAFETY: forwarded.
    String::from_utf8_lossy(unsafe { bytes(ptr, len) }).into_owned()
}

/// Copies `src[offset..offset + size]` to `dst`, panicking like the host's bounds check.
///
/// # Safety
///
/// `dst` must be valid for writes of `size` bytes.
unsafe fn copy_out(what: &str, src: &[u8], dst: usize, offset: usize, size: usize) {
    let end = offset.checked_add(size).filter(|&end| end <= src.len());
    let Some(end) = end else {
        panic!(
            "{what}: range {offset}..{offset}+{size} is out of bounds of {} bytes",
            src.len()
        );
    };
    if size > 0 {
        // SAFETY: the caller guarantees `dst` is valid for `size` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src[offset..end].as_ptr(), dst as *mut u8, size) };
    }
}

/// Writes `value` to `dst` if it fits `cap`; returns its length as the ABI's `i32`.
///
/// # Safety
///
/// `dst` must be valid for writes of `cap` bytes.
unsafe fn copy_if_fits(value: &[u8], dst: usize, cap: usize) -> i32 {
    if value.len() <= cap && !value.is_empty() {
        // SAFETY: the caller guarantees `dst` is valid for `cap >= value.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), dst as *mut u8, value.len()) };
    }
    i32::try_from(value.len()).expect("a value under 2 GiB")
}

pub(crate) unsafe fn msg_arg_data_size() -> usize {
    check("ic0", "msg_arg_data_size");
    with(|s| s.arg.len())
}

pub(crate) unsafe fn msg_arg_data_copy(dst: usize, offset: usize, size: usize) {
    check("ic0", "msg_arg_data_copy");
    // SAFETY: forwarded from the import's contract.
    with(|s| unsafe { copy_out("msg_arg_data_copy", &s.arg, dst, offset, size) })
}

pub(crate) unsafe fn msg_caller_size() -> usize {
    check("ic0", "msg_caller_size");
    with(|s| s.caller.len())
}

pub(crate) unsafe fn msg_caller_copy(dst: usize, offset: usize, size: usize) {
    check("ic0", "msg_caller_copy");
    // SAFETY: forwarded from the import's contract.
    with(|s| unsafe { copy_out("msg_caller_copy", &s.caller, dst, offset, size) })
}

pub(crate) unsafe fn canister_self_size() -> usize {
    check("ic0", "canister_self_size");
    with(|s| s.canister_self.len())
}

pub(crate) unsafe fn canister_self_copy(dst: usize, offset: usize, size: usize) {
    check("ic0", "canister_self_copy");
    // SAFETY: forwarded from the import's contract.
    with(|s| unsafe { copy_out("canister_self_copy", &s.canister_self, dst, offset, size) })
}

/// Invariant (C): a call replies at most once.
fn check_not_replied(name: &str) {
    if with(|s| s.reply.is_some()) {
        panic!("ic0.{name} after the call already replied or rejected");
    }
}

pub(crate) unsafe fn msg_reply_data_append(src: usize, size: usize) {
    check("ic0", "msg_reply_data_append");
    check_not_replied("msg_reply_data_append");
    // SAFETY: forwarded from the import's contract.
    let data = unsafe { bytes(src, size) };
    with(|s| s.reply_buf.extend_from_slice(data));
}

pub(crate) unsafe fn msg_reply() {
    check("ic0", "msg_reply");
    check_not_replied("msg_reply");
    with(|s| s.reply = Some(Reply::Data(std::mem::take(&mut s.reply_buf))));
}

pub(crate) unsafe fn msg_reject(src: usize, size: usize) {
    check("ic0", "msg_reject");
    check_not_replied("msg_reject");
    // SAFETY: forwarded from the import's contract.
    let message = unsafe { text(src, size) };
    with(|s| s.reply = Some(Reply::Reject(message)));
}

pub(crate) unsafe fn trap(src: usize, size: usize) {
    // SAFETY: forwarded from the import's contract.
    let message = unsafe { text(src, size) };
    panic!("canister trapped: {message}");
}

pub(crate) unsafe fn debug_print(src: usize, size: usize) {
    // SAFETY: forwarded from the import's contract.
    let message = unsafe { text(src, size) };
    println!("{message}");
    with(|s| s.prints.push(message));
}

pub(crate) unsafe fn time() -> u64 {
    check("ic0", "time");
    with(|s| s.time)
}

pub(crate) unsafe fn counter_add(
    name_ptr: usize,
    name_len: usize,
    key_ptr: usize,
    key_len: usize,
    delta: i64,
) {
    check("commute", "counter_add");
    // SAFETY: forwarded from the import's contract.
    let (name, key) = unsafe { (bytes(name_ptr, name_len), bytes(key_ptr, key_len)) };
    with(|s| {
        // Invariant (B): exact i128 sum, wrapping at 2^127.
        let entry = s.counters.entry((name.to_vec(), key.to_vec())).or_insert(0);
        *entry = entry.wrapping_add(i128::from(delta));
    });
}

pub(crate) unsafe fn map_put(
    name_ptr: usize,
    name_len: usize,
    key_ptr: usize,
    key_len: usize,
    val_ptr: usize,
    val_len: usize,
) {
    check("commute", "map_put");
    // SAFETY: forwarded from the import's contract.
    let (name, key, value) = unsafe {
        (
            bytes(name_ptr, name_len),
            bytes(key_ptr, key_len),
            bytes(val_ptr, val_len),
        )
    };
    with(|s| {
        s.maps
            .entry(name.to_vec())
            .or_default()
            .insert(key.to_vec(), value.to_vec());
    });
}

pub(crate) unsafe fn map_remove(name_ptr: usize, name_len: usize, key_ptr: usize, key_len: usize) {
    check("commute", "map_remove");
    // SAFETY: forwarded from the import's contract.
    let (name, key) = unsafe { (bytes(name_ptr, name_len), bytes(key_ptr, key_len)) };
    with(|s| {
        if let Some(map) = s.maps.get_mut(name) {
            map.remove(key);
        }
    });
}

pub(crate) unsafe fn list_push(name_ptr: usize, name_len: usize, val_ptr: usize, val_len: usize) {
    check("commute", "list_push");
    // SAFETY: forwarded from the import's contract.
    let (name, value) = unsafe { (bytes(name_ptr, name_len), bytes(val_ptr, val_len)) };
    with(|s| {
        s.lists
            .entry(name.to_vec())
            .or_default()
            .push(value.to_vec())
    });
}

/// Whether `name` is a valid canister name, `[a-z0-9_-]{1,64}` (`docs/modes.md`).
fn valid_canister_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

pub(crate) unsafe fn call_pure(
    canister_ptr: usize,
    canister_len: usize,
    method_ptr: usize,
    method_len: usize,
    arg_ptr: usize,
    arg_len: usize,
) -> i32 {
    check("commute", "call_pure");
    // SAFETY: forwarded from the import's contract.
    let (canister, method, arg) = unsafe {
        (
            text(canister_ptr, canister_len),
            text(method_ptr, method_len),
            bytes(arg_ptr, arg_len),
        )
    };
    // Natively there is no other canister's `.did` to check against: check what can be.
    if !valid_canister_name(&canister) {
        return call_pure_status::NO_SUCH_CANISTER;
    }
    if method.is_empty() {
        return call_pure_status::NOT_A_PURE_METHOD;
    }
    if !arg.starts_with(b"DIDL") {
        return call_pure_status::BAD_ARGUMENTS;
    }
    with(|s| {
        if s.call_pure_status == call_pure_status::QUEUED {
            s.calls.push(PureCall {
                canister,
                method,
                arg: arg.to_vec(),
            });
        }
        s.call_pure_status
    })
}

pub(crate) unsafe fn counter_get(
    name_ptr: usize,
    name_len: usize,
    key_ptr: usize,
    key_len: usize,
    dst: usize,
) {
    check("commute", "counter_get");
    // SAFETY: forwarded from the import's contract.
    let (name, key) = unsafe { (bytes(name_ptr, name_len), bytes(key_ptr, key_len)) };
    let value = with(|s| {
        s.counters
            .get(&(name.to_vec(), key.to_vec()))
            .copied()
            .unwrap_or(0)
    });
    // SAFETY: `dst` is valid for the 16 bytes this import writes.
    unsafe { copy_out("counter_get", &value.to_le_bytes(), dst, 0, 16) };
}

pub(crate) unsafe fn map_get(
    name_ptr: usize,
    name_len: usize,
    key_ptr: usize,
    key_len: usize,
    dst: usize,
    cap: usize,
) -> i32 {
    check("commute", "map_get");
    // SAFETY: forwarded from the import's contract.
    let (name, key) = unsafe { (bytes(name_ptr, name_len), bytes(key_ptr, key_len)) };
    let value = with(|s| s.maps.get(name).and_then(|m| m.get(key)).cloned());
    match value {
        // SAFETY: `dst` is valid for `cap` bytes.
        Some(value) => unsafe { copy_if_fits(&value, dst, cap) },
        None => -1,
    }
}

pub(crate) unsafe fn map_next_key(
    name_ptr: usize,
    name_len: usize,
    after_ptr: usize,
    after_len: isize,
    dst: usize,
    cap: usize,
) -> i32 {
    check("commute", "map_next_key");
    // SAFETY: forwarded from the import's contract.
    let name = unsafe { bytes(name_ptr, name_len) };
    let after = match usize::try_from(after_len) {
        // SAFETY: forwarded from the import's contract.
        Ok(len) => Bound::Excluded(unsafe { bytes(after_ptr, len) }.to_vec()),
        Err(_) => Bound::Unbounded,
    };
    let key = with(|s| {
        let map = s.maps.get(name)?;
        map.range((after, Bound::Unbounded))
            .next()
            .map(|(k, _)| k.clone())
    });
    match key {
        // SAFETY: `dst` is valid for `cap` bytes.
        Some(key) => unsafe { copy_if_fits(&key, dst, cap) },
        None => -1,
    }
}

pub(crate) unsafe fn list_len(name_ptr: usize, name_len: usize) -> i64 {
    check("commute", "list_len");
    // SAFETY: forwarded from the import's contract.
    let name = unsafe { bytes(name_ptr, name_len) };
    with(|s| s.lists.get(name).map_or(0, |l| l.len() as i64))
}

pub(crate) unsafe fn list_get(
    name_ptr: usize,
    name_len: usize,
    index: i64,
    dst: usize,
    cap: usize,
) -> i32 {
    check("commute", "list_get");
    // SAFETY: forwarded from the import's contract.
    let name = unsafe { bytes(name_ptr, name_len) };
    let value = with(|s| {
        let list = s.lists.get(name)?;
        list.get(usize::try_from(index).ok()?).cloned()
    });
    match value {
        // SAFETY: `dst` is valid for `cap` bytes.
        Some(value) => unsafe { copy_if_fits(&value, dst, cap) },
        None => -1,
    }
}
