//! The attribute macros of [commute-cdk]: use them through `commute_cdk`, which
//! re-exports them (`use commute_cdk::{query, update, pure_update, init};`).
//!
//! Each macro leaves the function as written and adds an exported wrapper that decodes the
//! Candid arguments from `msg_arg_data`, calls the function, and (for queries and updates)
//! encodes the result and replies. The export names follow `docs/guest-abi.md` and are taken from
//! `commute_abi::export`.
//!
//! [commute-cdk]: https://docs.rs/commute-cdk

use commute_abi::Mode;
use proc_macro::TokenStream;

mod export;
mod interface;

fn run(mode: Mode, attr: TokenStream, item: TokenStream) -> TokenStream {
    export::expand(mode, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Marks a query method: exported as `canister_query NAME`.
///
/// The arguments are decoded with Candid from the call's argument bytes; the return value
/// is encoded with Candid and sent as the reply (a tuple return type is several Candid
/// values, `()` replies the empty tuple). A query reads the last committed state and may
/// not write: the host traps a query that calls a write import.
///
/// # Options
///
/// - `name = "..."`: the method's name in the `.did`, if not the function's name.
/// - `guard = "path"` (repeatable): a `fn() -> Result<(), String>` run first; `Err(msg)`
///   rejects the call with `msg`.
///
/// # Example
///
/// ```
/// use commute_cdk::{query, stable::Counter};
///
/// static VIEWS: Counter = Counter::init("views");
///
/// #[query(name = "views")]
/// fn total_views() -> u64 {
///     VIEWS.get() as u64
/// }
/// # assert_eq!(total_views(), 0);
/// ```
#[proc_macro_attribute]
pub fn query(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Mode::Query, attr, item)
}

/// Marks an update method: exported as `canister_update NAME`.
///
/// An update runs alone, in seq order, reads state and sees its own writes. Its return
/// value is encoded with Candid and sent as the reply; a function returning `()` replies
/// the empty Candid tuple, as the `.did`'s `-> ()` says. A `oneway` method of the `.did`
/// is written as an `#[update]` returning `()` too (its reply goes nowhere).
///
/// # Options
///
/// - `name = "..."`: the method's name in the `.did`, if not the function's name.
/// - `guard = "path"` (repeatable): a `fn() -> Result<(), String>` run first; `Err(msg)`
///   rejects the call with `msg`.
///
/// # Example
///
/// ```
/// use commute_cdk::{update, stable::Map};
///
/// static NOTES: Map<String, String> = Map::init("notes");
///
/// /// Sets the note, returning the previous one.
/// #[update]
/// fn set_note(note: String) -> Option<String> {
///     let old = NOTES.get(&"note".to_string());
///     NOTES.insert("note".to_string(), note);
///     old
/// }
/// # assert_eq!(set_note("a".into()), None);
/// # assert_eq!(set_note("b".into()), Some("a".into()));
/// ```
#[proc_macro_attribute]
pub fn update(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Mode::Update, attr, item)
}

/// Marks a pure update: exported as `canister_update NAME`; the `.did` declares it
/// `pure_update`. New in commute: ic-cdk has no such attribute.
///
/// A pure update cannot read state: it may only emit commutative writes (counter `add`,
/// map `insert`/`remove`, list `push`) and fire `call_pure`, so the host runs many at once.
/// It never replies (the caller got a ticket at submission), so the function must return
/// `()`: anything else is a compile error. Reading state, or calling `msg_reply`, traps
/// the call (natively, in a unit test, it panics).
///
/// # Options
///
/// - `name = "..."`: the method's name in the `.did`, if not the function's name.
/// - `guard = "path"` (repeatable): a `fn() -> Result<(), String>` run first; `Err(msg)`
///   traps the call with `msg` (a pure call has no caller waiting to be rejected).
/// - `key = "user"`, `key = "from, to"` (or `key` repeated): the parameters whose values
///   are the call's keys; calls sharing a key run one after another, in order
///   (`docs/modes.md`). Each names a parameter of the function, once. The `.did` that
///   `export_candid!()` derives declares them as `key(...)`; with a hand-written `.did`,
///   its own `key(...)` is what counts.
///
/// # Example
///
/// ```
/// use commute_cdk::{pure_update, stable::Counter, Principal};
///
/// static EVENTS: Counter = Counter::init("events");
///
/// #[pure_update(key = "user")]
/// fn log(user: Principal, _event: String) {
///     EVENTS.entry(&user).add(1);
/// }
/// # log(Principal::anonymous(), "hi".into());
/// # assert_eq!(EVENTS.entry(&Principal::anonymous()).get(), 1);
/// ```
///
/// A return value does not compile:
///
/// ```compile_fail
/// #[commute_cdk::pure_update]
/// fn bump() -> u64 { 1 }
/// ```
///
/// Nor does a key that names no parameter (the error names `usr` and the parameters):
///
/// ```compile_fail
/// #[commute_cdk::pure_update(key = "usr")]
/// fn log(user: commute_cdk::Principal, event: String) {}
/// ```
#[proc_macro_attribute]
pub fn pure_update(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Mode::PureUpdate, attr, item)
}

/// Marks the function run once when the canister is installed: exported as
/// `canister_init`. It may take Candid arguments and must return `()`.
///
/// Re-installing keeps state, and runs init again: write it so that running it twice is
/// what you mean (e.g. count installs rather than set up tables).
///
/// # Example
///
/// ```
/// use commute_cdk::{init, stable::Counter};
///
/// static INSTALLS: Counter = Counter::init("installs");
///
/// #[init]
/// fn init() {
///     INSTALLS.add(1);
/// }
/// # init();
/// # assert_eq!(INSTALLS.get(), 1);
/// ```
#[proc_macro_attribute]
pub fn init(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Mode::Init, attr, item)
}

/// Exports the canister's Candid interface, so that `commute install` needs no `--did`.
/// Put it once, last in `lib.rs`, after every method.
///
/// - `export_candid!()` derives the `.did` from the methods' Rust signatures, as ic-cdk
///   0.20's does: each `#[query]`, `#[update]`, `#[pure_update]` and `#[init]` of the
///   crate, with its Rust parameter names as argument names, its doc comment's first
///   paragraph as a comment, and each pure update as `oneway` under
///   `// @pure_update key(...)`: the standard form `commute did check` prints. It defines
///   `__export_service() -> String`, which returns that text (for a unit test to compare
///   with a file), and the query `__get_candid_interface_tmp_hack`, which replies with it
///   and which `commute install` runs when the wasm carries no `.did`. The argument and
///   result types are named where the macro stands, so they must be in scope there (as
///   with ic-cdk).
/// - `export_candid!("NAME.did")` embeds a `.did` you wrote instead (standard Candid plus
///   `pure_update key(...)`, named relative to the crate's `Cargo.toml`) as the wasm's
///   `icp:public candid:service` section. Keep it in step with the code.
///
/// Either does nothing to the wasm off wasm32 (natively, `__export_service` is there).
///
/// # Example
///
/// The example of `docs/did.md`:
///
/// ```
/// use commute_cdk::{pure_update, query, stable::Counter, Principal};
///
/// static EVENTS: Counter = Counter::init("events");
///
/// /// Counts an event of `user`.
/// #[pure_update(key = "user")]
/// fn log(user: Principal, _event: String) {
///     EVENTS.entry(&user).add(1);
/// }
///
/// /// The events of `user`.
/// #[query]
/// fn count(user: Principal) -> u64 {
///     EVENTS.entry(&user).get() as u64
/// }
///
/// commute_cdk::export_candid!();
///
/// # fn main() {
/// assert_eq!(
///     __export_service(),
///     "service : {
///   // The events of `user`.
///   count : (user : principal) -> (nat64) query;
///   // Counts an event of `user`.
///   // @pure_update key(user)
///   log : (user : principal, event : text) -> () oneway;
/// }
/// "
/// );
/// # }
/// ```
///
/// An `#[init]` with arguments makes the service a class, and a short service fits on one
/// line, as Candid's printer has it:
///
/// ```
/// #[commute_cdk::init]
/// fn init(_owner: commute_cdk::Principal) {}
///
/// #[commute_cdk::query]
/// fn ping() -> String {
///     "pong".into()
/// }
///
/// commute_cdk::export_candid!();
///
/// # fn main() {
/// assert_eq!(
///     __export_service(),
///     "service : (owner : principal) -> { ping : () -> (text) query }\n"
/// );
/// # }
/// ```
#[proc_macro]
pub fn export_candid(input: TokenStream) -> TokenStream {
    // Taken in both forms, so a crate's methods never reach the next crate's interface.
    let methods = interface::take();
    let input = proc_macro2::TokenStream::from(input);
    let expanded = if input.is_empty() {
        interface::expand_derived(methods)
    } else {
        syn::parse2::<syn::LitStr>(input)
            .map(|path| interface::expand_file(&path))
            .map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "export_candid! takes nothing (derive the .did) or a string literal (a .did file)",
                )
            })
    };
    expanded
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
