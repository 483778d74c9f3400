//! One call: its inputs ([`Call`]), what it produced ([`Execution`]), and
//! [`Compiled::execute`], which runs it on an instance in the module's initial state.

use commute_abi::{Class, Mode};
use wasmtime::{Extern, Store, Trap, TypedFunc};

use super::engine::{one_line_error, Compiled, Engine};
use super::host::{Answer, Env, Fault, Host};
use super::message::who;
use super::overlay::Overlay;
use super::state::{ChildCalls, StateView};
use super::warm::{self, Warmth};
use super::ExecuteError;
use crate::write_log::WriteLog;

/// The inputs of one call.
///
/// # Examples
///
/// ```
/// use commute::execute::{Call, Mode};
///
/// let call = Call {
///     canister: "logger",
///     self_principal: b"\x01logger",
///     method: "log",
///     export: "canister_update log",
///     mode: Mode::PureUpdate,
///     caller: b"\x04",
///     arg: b"DIDL\x00\x00",
///     time: 1_700_000_000_000_000_000,
/// };
/// assert_eq!(call.export, commute_abi::export::method(call.mode, call.method));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The name the canister is installed under; `debug_print` lines start with it.
    pub canister: &'a str,
    /// The canister's principal bytes, what `canister_self_copy` gives.
    pub self_principal: &'a [u8],
    /// The method's name, for messages (`""` for `canister_init`).
    pub method: &'a str,
    /// The export to run: `canister_update log`, `canister_query views`, `canister_init`.
    pub export: &'a str,
    /// The mode, which decides the imports the call may use.
    pub mode: Mode,
    /// The caller's principal bytes, what `msg_caller_copy` gives.
    pub caller: &'a [u8],
    /// The Candid argument bytes, what `msg_arg_data_copy` gives.
    pub arg: &'a [u8],
    /// Nanoseconds since the epoch at which the call was accepted, what `time` gives.
    pub time: u64,
}

/// A pure call fired by `call_pure` and accepted by [`ChildCalls::validate`]; queued when
/// the parent's writes commit (`docs/modes.md`).
///
/// # Examples
///
/// ```
/// use commute::execute::Child;
///
/// let child = Child { canister: "logger".into(), method: "log".into(), arg: b"DIDL\0\0".to_vec() };
/// assert_eq!(child.method, "log");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    /// The target canister's installed name.
    pub canister: String,
    /// The target pure method.
    pub method: String,
    /// The normalized Candid argument bytes [`ChildCalls::validate`] returned.
    pub arg: Vec<u8>,
}

/// How a call ended.
///
/// # Examples
///
/// ```
/// use commute::execute::Outcome;
///
/// let outcome = Outcome::Trapped("query `q` did not reply".into());
/// assert!(outcome.is_trapped());
/// assert!(!Outcome::Done.is_trapped());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A query or update replied with these bytes (`msg_reply`).
    Replied(Vec<u8>),
    /// The call finished without a reply to give: a pure update, a oneway (whose reply,
    /// if any, is discarded) or `canister_init`.
    Done,
    /// The call trapped, ran out of fuel, went over a cap, used an import its mode
    /// forbids, rejected (`msg_reject`), or (query, update) returned without replying.
    /// The message is one line and names the method.
    Trapped(String),
}

impl Outcome {
    /// Whether this is [`Outcome::Trapped`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!commute::execute::Outcome::Replied(vec![]).is_trapped());
    /// ```
    pub fn is_trapped(&self) -> bool {
        matches!(self, Outcome::Trapped(_))
    }
}

/// What one call produced. When the outcome is [`Outcome::Trapped`], `log` is empty and
/// `children` too (invariant (D) of [`crate::execute`]).
///
/// # Examples
///
/// See [`Compiled::execute`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// How the call ended.
    pub outcome: Outcome,
    /// The writes it issued, in order.
    pub log: WriteLog,
    /// The pure calls it fired, in order.
    pub children: Vec<Child>,
    /// The fuel it used, imports included; the whole budget if it ran out.
    pub fuel_used: u64,
}

impl Execution {
    /// A call that trapped with `message` before running: an empty log, no children, no
    /// fuel used. For callers that refuse a call themselves (the canister is gone, say)
    /// and record it as trapped.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Execution, Outcome};
    ///
    /// let run = Execution::trapped("no canister named `x`");
    /// assert_eq!(run.outcome, Outcome::Trapped("no canister named `x`".into()));
    /// assert!(run.log.is_empty() && run.children.is_empty());
    /// ```
    pub fn trapped(message: impl Into<String>) -> Execution {
        Execution {
            outcome: Outcome::Trapped(message.into()),
            log: WriteLog::default(),
            children: Vec::new(),
            fuel_used: 0,
        }
    }

    /// Invariant (D): a trapped call keeps nothing but its message and the fuel it used.
    fn trap(message: String, fuel_used: u64) -> Execution {
        Execution {
            fuel_used,
            ..Execution::trapped(message)
        }
    }
}

/// How a call's wasm ended, when it did not return.
enum Failure {
    /// A verdict: the call trapped with this message.
    Trap(String),
    /// No verdict: the host failed.
    Host(ExecuteError),
}

impl Compiled {
    /// Runs `call` on an instance of this module in its initial state (invariant (A)): a
    /// warm one if the module has one free, else a new one; and returns what it produced.
    ///
    /// Reads go to `state`, with the call's own writes on top in update, oneway and init
    /// mode; each `call_pure` is put to `children` as the guest makes it. The call runs
    /// on the current thread, under `engine`'s [`Limits`](super::Limits).
    ///
    /// # Errors
    ///
    /// Only host failures, after which the call has no verdict and may be run again:
    /// [`ExecuteError::State`] if `state` fails a read, [`ExecuteError::Host`] if wasmtime
    /// cannot instantiate the module (the instance pool is full, memory cannot be mapped).
    /// Everything the guest does wrong is an [`Outcome::Trapped`].
    ///
    /// # Panics
    ///
    /// If this module was compiled by another [`Engine`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::execute::{Call, CanisterState, ChildCalls, Engine, Limits, Mode, Outcome, Refused};
    ///
    /// struct NoChildren;
    /// impl ChildCalls for NoChildren {
    ///     fn validate(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, Refused> {
    ///         Err(Refused::new(1, "no other canisters here"))
    ///     }
    /// }
    ///
    /// let engine = Engine::new(Limits::default())?;
    /// let wasm = wat::parse_str(r#"(module
    ///   (import "commute" "counter_add" (func $add (param i32 i32 i32 i32 i64)))
    ///   (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
    ///   (import "ic0" "msg_reply" (func $reply))
    ///   (memory (export "memory") 1)
    ///   (data (i32.const 0) "hits")
    ///   (func (export "canister_update hit")
    ///     (call $add (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i64.const 1))
    ///     (call $append (i32.const 0) (i32.const 4))
    ///     (call $reply)))"#)?;
    /// let compiled = engine.compile(&wasm)?;
    /// let store = commute::store::Store::temporary()?;
    /// let call = Call {
    ///     canister: "web",
    ///     self_principal: b"web",
    ///     method: "hit",
    ///     export: "canister_update hit",
    ///     mode: Mode::Update,
    ///     caller: b"anonymous",
    ///     arg: b"",
    ///     time: 0,
    /// };
    /// let run = compiled.execute(&engine, &call, &CanisterState::new(store.reader(), "web"), &NoChildren)?;
    /// assert_eq!(run.outcome, Outcome::Replied(b"hits".to_vec()));
    /// assert_eq!(run.log.len(), 1);
    /// assert!(run.fuel_used > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute(
        &self,
        engine: &Engine,
        call: &Call<'_>,
        state: &dyn StateView,
        children: &dyn ChildCalls,
    ) -> Result<Execution, ExecuteError> {
        assert!(
            wasmtime::Engine::same(&engine.wasmtime, self.module.engine()),
            "Compiled::execute: the module was compiled by another Engine"
        );
        let limits = *engine.limits();
        let who = who(call.mode, call.method);
        if call.arg.len() > limits.arg_bytes {
            let message = format!(
                "{who} got an argument of {} bytes, over the limit of {} bytes",
                call.arg.len(),
                limits.arg_bytes
            );
            return Ok(Execution::trap(message, 0));
        }

        let env = Env {
            call,
            state,
            children,
            limits,
        };
        // SAFETY: `Store<T>` needs `T: 'static`, but `Env` borrows the caller's `call`,
        // `state` and `children`. The lifetime is only erased, never used: the `Host`
        // holding `env` is put in a store below and taken out of it again (swapped for a
        // parked host, whose references are to statics: warm invariant (B)) before this
        // function returns; on an early return or an unwinding the store is dropped here.
        // Nothing from the store escapes this function while it holds `env`, and the host
        // functions only read `env` while a call runs. So every use of the references
        // happens while the borrows they came from are live.
        let env: Env<'static> = unsafe { std::mem::transmute::<Env<'_>, Env<'static>>(env) };
        let reads_own_writes =
            Class::Read.allowed_in(call.mode) && Class::Write.allowed_in(call.mode);
        let overlay = reads_own_writes.then(Overlay::default);
        let host = Host::new(env, overlay);
        let fuel_used = |store: &Store<Host>| limits.fuel - store.get_fuel().unwrap_or(0);
        let warmth = self.warmth.as_deref();

        // A warm instance of the module if one is free (invariant (A): reset after its
        // last call), else a new one, kept warm after this call if the engine has room.
        // The memory is found once per instance: a warm one's reset holds it.
        let (mut store, instance, memory, reset) = match warmth.and_then(Warmth::take) {
            Some(warm) => {
                let (mut store, instance, reset) = warm.into_parts();
                *store.data_mut() = host;
                store
                    .set_fuel(limits.fuel)
                    .expect("fuel is enabled in every Engine");
                (store, instance, Some(reset.memory()), Some(reset))
            }
            None => {
                let mut store = Store::new(&engine.wasmtime, host);
                store.limiter(|host| &mut host.limiter);
                // Before instantiating: a start function's run is the call's, and counts.
                store
                    .set_fuel(limits.fuel)
                    .expect("fuel is enabled in every Engine");
                let instance = match self.pre.instantiate(&mut store) {
                    Ok(instance) => instance,
                    Err(err) => {
                        let used = fuel_used(&store);
                        let host = store.into_data();
                        if let Some(message) = host.limiter.refused.clone() {
                            return Ok(Execution::trap(message, used));
                        }
                        return match classify(&err, &host, false) {
                            Failure::Trap(message) => Ok(Execution::trap(message, used)),
                            Failure::Host(err) => Err(err),
                        };
                    }
                };
                let memory = (instance.get_module_export(&mut store, &self.exports.memory))
                    .and_then(Extern::into_memory);
                let reset = warmth
                    .zip(memory)
                    .and_then(|(warmth, memory)| warmth.reset_for(&mut store, &instance, memory));
                (store, instance, memory, reset)
            }
        };
        store.data_mut().limiter.instantiated = true;
        store.data_mut().memory = memory;
        let entry = match self.exports.entry(call.export) {
            Some(index) => (instance.get_module_export(&mut store, index))
                .and_then(Extern::into_func)
                // SAFETY: `Engine::check` found this export of this instance's module a
                // function of type `() -> ()`, which is what `TypedFunc<(), ()>` calls.
                .map(|func| unsafe { TypedFunc::<(), ()>::new_unchecked(&store, func) }),
            None => instance
                .get_typed_func::<(), ()>(&mut store, call.export)
                .ok(),
        };
        let Some(entry) = entry else {
            let message = format!("{} has no entry point `{}`", store.data().who, call.export);
            return Ok(Execution::trap(message, fuel_used(&store)));
        };
        let result = entry.call(&mut store, ());
        let used = fuel_used(&store);
        // Warm invariant (B): the call's host leaves the store before it is pooled.
        let host = std::mem::replace(store.data_mut(), warm::parked());
        if let (Some(warmth), Some(reset)) = (warmth, reset) {
            warmth.park(store, instance, reset);
        }
        if let Err(err) = result {
            return match classify(&err, &host, true) {
                Failure::Trap(message) => Ok(Execution::trap(message, used)),
                Failure::Host(err) => Err(err),
            };
        }
        let Host {
            who,
            log,
            children,
            reply,
            answer,
            ..
        } = host;
        let outcome = match (call.mode, answer) {
            (_, Answer::Rejected(message)) => {
                let message = format!("{who} rejected the call: {message}");
                return Ok(Execution::trap(message, used));
            }
            (Mode::Query | Mode::Update, Answer::Replied) => Outcome::Replied(reply),
            (Mode::Query | Mode::Update, Answer::Pending) => {
                return Ok(Execution::trap(format!("{who} did not reply"), used));
            }
            (Mode::Oneway | Mode::Init | Mode::PureUpdate, _) => Outcome::Done,
        };
        Ok(Execution {
            outcome,
            log,
            children,
            fuel_used: used,
        })
    }
}

/// What an error out of wasm means for the call. `running`: the entry point was running
/// (an unknown error then is the guest's doing); otherwise instantiation failed (an
/// unknown error then is the host's: memory could not be mapped, the pool is full).
fn classify(err: &wasmtime::Error, host: &Host, running: bool) -> Failure {
    let call = host.env.call;
    if let Some(fault) = err.downcast_ref::<Fault>() {
        return match fault {
            Fault::Trap(message) => Failure::Trap(message.clone()),
            Fault::State(source) => Failure::Host(ExecuteError::State {
                canister: call.canister.to_owned(),
                method: call.method.to_owned(),
                source: source.clone(),
            }),
        };
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return Failure::Trap(match trap {
            Trap::OutOfFuel => host.out_of_fuel(),
            trap => format!("{}: {trap}", host.who),
        });
    }
    if running {
        Failure::Trap(format!("{}: {}", host.who, one_line_error(err)))
    } else {
        Failure::Host(ExecuteError::Host {
            canister: call.canister.to_owned(),
            method: call.method.to_owned(),
            reason: one_line_error(err),
        })
    }
}
