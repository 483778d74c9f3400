//! The host side of the ABI: [`Host`], the data of one call's `Store`, and [`define`],
//! which gives the linker a function for every row of [`commute_abi::IMPORTS`].
//!
//! Every import starts the same way: [`allow`] checks the call's mode against the
//! import's class (invariant (C)), then the guest's ranges are bounds-checked
//! ([`GuestRange`], invariant (G)), then [`charge`] takes [`HOST_CALL_FUEL`] plus the bytes
//! the import moves. Only then is anything read, written or copied.

use commute_abi::call_pure_status::{BAD_ARGUMENTS, NOT_A_PURE_METHOD, NO_SUCH_CANISTER};
use commute_abi::{Import, Module, IMPORTS};
use thiserror::Error;
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};

use super::call::{Call, Child};
use super::engine::MAX_TABLE_ELEMENTS;
use super::guest_memory::GuestRange;
use super::limits::Limits;
use super::message::{cut, forbidden, one_line, who, Who, MESSAGE_MAX, PRINT_MAX};
use super::overlay::Overlay;
use super::state::{ChildCalls, StateError, StateView};
use super::ExecuteError;
use crate::write_log::{Op, WriteLog};

/// The fuel every import costs on top of one unit per byte it moves between guest memory
/// and the host. Roughly what the host spends on the call itself, in wasm-operator units.
///
/// ```
/// assert_eq!(commute::execute::HOST_CALL_FUEL, 100);
/// ```
pub const HOST_CALL_FUEL: u64 = 100;

/// What one call borrows from its caller; see the `SAFETY` note in `Compiled::execute`.
pub(super) struct Env<'a> {
    pub(super) call: &'a Call<'a>,
    pub(super) state: &'a dyn StateView,
    pub(super) children: &'a dyn ChildCalls,
    pub(super) limits: Limits,
}

/// Whether the call has answered its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// Not yet.
    Pending,
    /// `msg_reply` was called; the reply is `Host::reply`.
    Replied,
    /// `msg_reject` was called with this (one-line) message.
    Rejected(String),
}

/// Why an import stopped the call.
#[derive(Debug, Error)]
pub(super) enum Fault {
    /// The call traps with this message (already naming the method).
    #[error("{0}")]
    Trap(String),
    /// Reading state failed: a host failure, the call has no verdict.
    #[error("{0}")]
    State(StateError),
}

/// The [`ResourceLimiter`] of one call: memory up to [`Limits::memory_bytes`], tables up
/// to [`MAX_TABLE_ELEMENTS`].
pub(super) struct Limiter {
    memory_bytes: u64,
    who: Who<'static>,
    /// Set once instantiation is over; a refusal before that fails the call.
    pub(super) instantiated: bool,
    /// Why instantiation was refused, if it was.
    pub(super) refused: Option<String>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // (E): past the cap, `memory.grow` returns -1, as wasm expects.
        let allowed = desired as u64 <= self.memory_bytes;
        if !allowed && !self.instantiated {
            self.refused = Some(format!(
                "{} needs {desired} bytes of memory to start, over the limit of {} bytes",
                self.who, self.memory_bytes
            ));
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= MAX_TABLE_ELEMENTS;
        if !allowed && !self.instantiated {
            self.refused = Some(format!(
                "{} needs a table of {desired} elements to start, over the limit of {MAX_TABLE_ELEMENTS}",
                self.who
            ));
        }
        Ok(allowed)
    }
}

/// The data of one call's `Store`: its inputs, and what it produced so far.
pub(super) struct Host {
    pub(super) env: Env<'static>,
    /// The call as messages name it.
    pub(super) who: Who<'static>,
    /// The instance's memory, once instantiated.
    pub(super) memory: Option<Memory>,
    pub(super) log: WriteLog,
    /// The call's own writes, for reads; only in modes that both read and write.
    overlay: Option<Overlay>,
    pub(super) children: Vec<Child>,
    pub(super) reply: Vec<u8>,
    pub(super) answer: Answer,
    pub(super) limiter: Limiter,
}

impl Host {
    pub(super) fn new(env: Env<'static>, overlay: Option<Overlay>) -> Host {
        let who = who(env.call.mode, env.call.method);
        Host {
            log: WriteLog::new(env.limits.log),
            limiter: Limiter {
                memory_bytes: env.limits.memory_bytes,
                who,
                instantiated: false,
                refused: None,
            },
            env,
            who,
            memory: None,
            overlay,
            children: Vec::new(),
            reply: Vec::new(),
            answer: Answer::Pending,
        }
    }

    /// The message of a call that ran out of fuel, in wasm or in an import.
    pub(super) fn out_of_fuel(&self) -> String {
        format!(
            "{} ran out of fuel: its budget is {} per call",
            self.who, self.env.limits.fuel
        )
    }

    /// A trap with `message` after the method's name.
    fn trap(&self, message: impl std::fmt::Display) -> wasmtime::Error {
        wasmtime::Error::new(Fault::Trap(format!("{} {message}", self.who)))
    }

    /// Runs `read` against the state this call sees: committed state, with the call's own
    /// writes on top when it has an overlay (invariant (F)).
    fn read<R>(
        &self,
        read: impl FnOnce(&dyn StateView) -> Result<R, StateError>,
    ) -> wasmtime::Result<R> {
        let result = match &self.overlay {
            Some(own) => read(&own.view(self.env.state)),
            None => read(self.env.state),
        };
        result.map_err(|err| wasmtime::Error::new(Fault::State(err)))
    }

    /// Appends `op` to the log (and the overlay), or traps if it goes over a cap.
    fn write(&mut self, op: Op) -> wasmtime::Result<()> {
        // (E): the cap is checked as the op is issued, before anything is kept.
        if let Err(err) = self.log.check_next(op.byte_len()) {
            return Err(wasmtime::Error::new(Fault::Trap(format!(
                "{}: {err}",
                self.who
            ))));
        }
        if let Some(own) = &mut self.overlay {
            own.record(&op);
        }
        let pushed = self.log.push(op);
        debug_assert!(pushed.is_ok(), "checked by check_next");
        Ok(())
    }
}

/// Invariant (C): traps unless the call's mode allows `import`.
fn allow(caller: &Caller<'_, Host>, import: &Import) -> wasmtime::Result<()> {
    let host = caller.data();
    let mode = host.env.call.mode;
    if import.allowed_in(mode) {
        Ok(())
    } else {
        Err(wasmtime::Error::new(Fault::Trap(forbidden(
            host.who, mode, import,
        ))))
    }
}

/// Takes [`HOST_CALL_FUEL`] plus `bytes` from the call's fuel, or traps as running out of
/// fuel in wasm would.
fn charge(caller: &mut Caller<'_, Host>, bytes: usize) -> wasmtime::Result<()> {
    let cost = HOST_CALL_FUEL.saturating_add(bytes as u64);
    let left = caller.get_fuel()?;
    if left < cost {
        caller.set_fuel(0)?;
        return Err(wasmtime::Error::new(Fault::Trap(
            caller.data().out_of_fuel(),
        )));
    }
    caller.set_fuel(left - cost)
}

/// The instance's memory.
fn memory(caller: &mut Caller<'_, Host>) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    // Only while instantiating (a start function calling an import).
    match caller.get_export(commute_abi::export::MEMORY) {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(caller.data().trap("has no memory named `memory`")),
    }
}

/// Invariant (G): `N` guest ranges, each checked against the memory's current size.
fn ranges<const N: usize>(
    caller: &mut Caller<'_, Host>,
    import: &Import,
    pairs: [(i32, i32); N],
) -> wasmtime::Result<(Memory, [GuestRange; N])> {
    let memory = memory(caller)?;
    let size = memory.data_size(&*caller);
    let mut out = Vec::with_capacity(N);
    for (ptr, len) in pairs {
        match GuestRange::new(ptr, len, size) {
            Ok(range) => out.push(range),
            Err(oob) => {
                let name = format!("{}.{}", import.module, import.name);
                let message = oob.message(caller.data().who, &name);
                return Err(wasmtime::Error::new(Fault::Trap(message)));
            }
        }
    }
    let ranges: [GuestRange; N] = out.try_into().expect("one range per pair");
    Ok((memory, ranges))
}

/// `*_size` of `ic0`: the length of `bytes`.
fn size_of(caller: &mut Caller<'_, Host>, import: &Import, bytes: &[u8]) -> wasmtime::Result<i32> {
    allow(caller, import)?;
    charge(caller, 0)?;
    // Principals are short and arguments are capped far below 2 GiB.
    Ok(bytes.len() as i32)
}

/// `*_copy(dst, offset, size)` of `ic0`: copies `bytes[offset..offset + size]` to `dst`,
/// trapping if either range is out of bounds (as the IC does).
fn copy_out(
    caller: &mut Caller<'_, Host>,
    import: &Import,
    bytes: &[u8],
    dst: i32,
    offset: i32,
    size: i32,
) -> wasmtime::Result<()> {
    allow(caller, import)?;
    let (memory, [dst]) = ranges(caller, import, [(dst, size)])?;
    let Ok(src) = GuestRange::new(offset, size, bytes.len()) else {
        return Err(caller.data().trap(format_args!(
            "asked {}.{} for {} bytes at offset {}, but there are {}",
            import.module,
            import.name,
            size as u32,
            offset as u32,
            bytes.len()
        )));
    };
    charge(caller, dst.len())?;
    memory.data_mut(caller)[dst.get()].copy_from_slice(&bytes[src.get()]);
    Ok(())
}

/// Copies a value read from state to `dst` if it fits `cap`; returns its length, or -1
/// for none. The value's bytes are charged whether or not they are copied.
fn give(
    caller: &mut Caller<'_, Host>,
    import: &Import,
    value: Option<Vec<u8>>,
    dst: i32,
    cap: i32,
) -> wasmtime::Result<i32> {
    let Some(value) = value else {
        return Ok(-1);
    };
    charge(caller, value.len())?;
    let Ok(len) = i32::try_from(value.len()) else {
        return Err(caller.data().trap(format_args!(
            "read a value of {} bytes through {}.{}, more than an i32 length",
            value.len(),
            import.module,
            import.name
        )));
    };
    if value.len() <= cap as u32 as usize {
        let (memory, [dst]) = ranges(caller, import, [(dst, len)])?;
        memory.data_mut(caller)[dst.get()].copy_from_slice(&value);
    }
    Ok(len)
}

/// `trap`, `msg_reject`, `debug_print`: the text at `[src, src + size)`.
fn text(
    caller: &mut Caller<'_, Host>,
    import: &Import,
    src: i32,
    size: i32,
) -> wasmtime::Result<Vec<u8>> {
    let (memory, [src]) = ranges(caller, import, [(src, size)])?;
    charge(caller, src.len())?;
    Ok(memory.data(&*caller)[src.get()].to_vec())
}

/// Traps unless the call has not answered yet.
fn unanswered(caller: &Caller<'_, Host>, import: &Import) -> wasmtime::Result<()> {
    let host = caller.data();
    let done = match host.answer {
        Answer::Pending => return Ok(()),
        Answer::Replied => "replied",
        Answer::Rejected(_) => "rejected",
    };
    Err(host.trap(format_args!(
        "called {}.{} after it had {done}",
        import.module, import.name
    )))
}

/// Gives the linker a function for every row of [`IMPORTS`] (invariant (B)).
///
/// # Errors
///
/// [`ExecuteError::Engine`] if a row has no host implementation here.
pub(super) fn define(linker: &mut Linker<Host>) -> Result<(), ExecuteError> {
    for import in IMPORTS {
        define_one(linker, import).map_err(|err| {
            ExecuteError::Engine(format!(
                "cannot define import {}.{}: {err}",
                import.module, import.name
            ))
        })?;
    }
    Ok(())
}

type R<T = ()> = wasmtime::Result<T>;
type C<'a> = Caller<'a, Host>;

fn define_one(linker: &mut Linker<Host>, imp: &'static Import) -> wasmtime::Result<()> {
    let (module, name) = (imp.module.as_str(), imp.name);
    match (imp.module, name) {
        (Module::Ic0, "msg_arg_data_size") => {
            linker.func_wrap(module, name, move |mut c: C<'_>| {
                let arg = c.data().env.call.arg;
                size_of(&mut c, imp, arg)
            })
        }
        (Module::Ic0, "msg_arg_data_copy") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, dst: i32, offset: i32, size: i32| -> R {
                let arg = c.data().env.call.arg;
                copy_out(&mut c, imp, arg, dst, offset, size)
            },
        ),
        (Module::Ic0, "msg_caller_size") => linker.func_wrap(module, name, move |mut c: C<'_>| {
            let caller = c.data().env.call.caller;
            size_of(&mut c, imp, caller)
        }),
        (Module::Ic0, "msg_caller_copy") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, dst: i32, offset: i32, size: i32| -> R {
                let caller = c.data().env.call.caller;
                copy_out(&mut c, imp, caller, dst, offset, size)
            },
        ),
        (Module::Ic0, "canister_self_size") => {
            linker.func_wrap(module, name, move |mut c: C<'_>| {
                let me = c.data().env.call.self_principal;
                size_of(&mut c, imp, me)
            })
        }
        (Module::Ic0, "canister_self_copy") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, dst: i32, offset: i32, size: i32| -> R {
                let me = c.data().env.call.self_principal;
                copy_out(&mut c, imp, me, dst, offset, size)
            },
        ),
        (Module::Ic0, "time") => linker.func_wrap(module, name, move |mut c: C<'_>| -> R<i64> {
            allow(&c, imp)?;
            charge(&mut c, 0)?;
            // The IC's `time` is a u64 in an i64; the guest reinterprets it.
            Ok(c.data().env.call.time as i64)
        }),
        (Module::Ic0, "msg_reply_data_append") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, src: i32, size: i32| -> R {
                allow(&c, imp)?;
                unanswered(&c, imp)?;
                let (memory, [src]) = ranges(&mut c, imp, [(src, size)])?;
                let (total, max) = (
                    c.data().reply.len() + src.len(),
                    c.data().env.limits.arg_bytes,
                );
                if total > max {
                    return Err(c.data().trap(format_args!(
                        "built a reply of {total} bytes, over the limit of {max} bytes"
                    )));
                }
                charge(&mut c, src.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                host.reply.extend_from_slice(&data[src.get()]);
                Ok(())
            },
        ),
        (Module::Ic0, "msg_reply") => linker.func_wrap(module, name, move |mut c: C<'_>| -> R {
            allow(&c, imp)?;
            unanswered(&c, imp)?;
            charge(&mut c, 0)?;
            c.data_mut().answer = Answer::Replied;
            Ok(())
        }),
        (Module::Ic0, "msg_reject") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, src: i32, size: i32| -> R {
                allow(&c, imp)?;
                unanswered(&c, imp)?;
                let message = text(&mut c, imp, src, size)?;
                c.data_mut().answer = Answer::Rejected(one_line(&message, MESSAGE_MAX));
                Ok(())
            },
        ),
        (Module::Ic0, "trap") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, src: i32, size: i32| -> R {
                allow(&c, imp)?;
                let message = text(&mut c, imp, src, size)?;
                Err(c
                    .data()
                    .trap(format_args!("trapped: {}", one_line(&message, MESSAGE_MAX))))
            },
        ),
        (Module::Ic0, "debug_print") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, src: i32, size: i32| -> R {
                allow(&c, imp)?;
                let message = text(&mut c, imp, src, size)?;
                eprintln!(
                    "[{}] {}",
                    c.data().env.call.canister,
                    cut(&message, PRINT_MAX)
                );
                Ok(())
            },
        ),
        (Module::Commute, "counter_add") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, kp: i32, kl: i32, delta: i64| -> R {
                allow(&c, imp)?;
                let (memory, [n, k]) = ranges(&mut c, imp, [(np, nl), (kp, kl)])?;
                charge(&mut c, n.len() + k.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                host.write(Op::CounterAdd {
                    name: data[n.get()].to_vec(),
                    key: data[k.get()].to_vec(),
                    delta,
                })
            },
        ),
        (Module::Commute, "map_put") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> R {
                allow(&c, imp)?;
                let (memory, [n, k, v]) = ranges(&mut c, imp, [(np, nl), (kp, kl), (vp, vl)])?;
                charge(&mut c, n.len() + k.len() + v.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                host.write(Op::MapPut {
                    name: data[n.get()].to_vec(),
                    key: data[k.get()].to_vec(),
                    value: data[v.get()].to_vec(),
                })
            },
        ),
        (Module::Commute, "map_remove") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, kp: i32, kl: i32| -> R {
                allow(&c, imp)?;
                let (memory, [n, k]) = ranges(&mut c, imp, [(np, nl), (kp, kl)])?;
                charge(&mut c, n.len() + k.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                host.write(Op::MapRemove {
                    name: data[n.get()].to_vec(),
                    key: data[k.get()].to_vec(),
                })
            },
        ),
        (Module::Commute, "list_push") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, vp: i32, vl: i32| -> R {
                allow(&c, imp)?;
                let (memory, [n, v]) = ranges(&mut c, imp, [(np, nl), (vp, vl)])?;
                charge(&mut c, n.len() + v.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                host.write(Op::ListPush {
                    name: data[n.get()].to_vec(),
                    value: data[v.get()].to_vec(),
                })
            },
        ),
        (Module::Commute, "call_pure") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, cp: i32, cl: i32, mp: i32, ml: i32, ap: i32, al: i32| -> R<i32> {
                allow(&c, imp)?;
                let max = c.data().env.limits.child_calls;
                if c.data().children.len() >= max {
                    return Err(c.data().trap(format_args!(
                        "called commute.call_pure more than {max} times, the limit per call"
                    )));
                }
                let (memory, [cr, mr, ar]) = ranges(&mut c, imp, [(cp, cl), (mp, ml), (ap, al)])?;
                charge(&mut c, cr.len() + mr.len() + ar.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                let Ok(canister) = std::str::from_utf8(&data[cr.get()]) else {
                    return Ok(NO_SUCH_CANISTER);
                };
                let Ok(method) = std::str::from_utf8(&data[mr.get()]) else {
                    return Ok(NOT_A_PURE_METHOD);
                };
                if ar.len() > host.env.limits.arg_bytes {
                    return Ok(BAD_ARGUMENTS);
                }
                match host
                    .env
                    .children
                    .validate(canister, method, &data[ar.get()])
                {
                    Ok(arg) => {
                        host.children.push(Child {
                            canister: canister.to_owned(),
                            method: method.to_owned(),
                            arg,
                        });
                        Ok(commute_abi::call_pure_status::QUEUED)
                    }
                    Err(refused) if refused.code == 0 => Ok(-1),
                    Err(refused) => Ok(refused.code),
                }
            },
        ),
        (Module::Commute, "counter_get") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, kp: i32, kl: i32, dst: i32| -> R {
                allow(&c, imp)?;
                let (memory, [n, k, d]) = ranges(&mut c, imp, [(np, nl), (kp, kl), (dst, 16)])?;
                charge(&mut c, n.len() + k.len() + d.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                let value = host.read(|s| s.counter_get(&data[n.get()], &data[k.get()]))?;
                data[d.get()].copy_from_slice(&value.to_le_bytes());
                Ok(())
            },
        ),
        (Module::Commute, "map_get") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, kp: i32, kl: i32, dst: i32, cap: i32| -> R<i32> {
                allow(&c, imp)?;
                let (memory, [n, k]) = ranges(&mut c, imp, [(np, nl), (kp, kl)])?;
                charge(&mut c, n.len() + k.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                let value = host.read(|s| s.map_get(&data[n.get()], &data[k.get()]))?;
                give(&mut c, imp, value, dst, cap)
            },
        ),
        (Module::Commute, "map_next_key") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, ap: i32, al: i32, dst: i32, cap: i32| -> R<i32> {
                allow(&c, imp)?;
                // `docs/guest-abi.md`: after_len -1 means "from the start" (after_ptr is ignored).
                let from_start = al == -1;
                let after = if from_start { (0, 0) } else { (ap, al) };
                let (memory, [n, a]) = ranges(&mut c, imp, [(np, nl), after])?;
                charge(&mut c, n.len() + a.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                let after = (!from_start).then(|| &data[a.get()]);
                let key = host.read(|s| s.map_next_key(&data[n.get()], after))?;
                give(&mut c, imp, key, dst, cap)
            },
        ),
        (Module::Commute, "list_len") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32| -> R<i64> {
                allow(&c, imp)?;
                let (memory, [n]) = ranges(&mut c, imp, [(np, nl)])?;
                charge(&mut c, n.len())?;
                let (data, host) = memory.data_and_store_mut(&mut c);
                let len = host.read(|s| s.list_len(&data[n.get()]))?;
                Ok(i64::try_from(len).unwrap_or(i64::MAX))
            },
        ),
        (Module::Commute, "list_get") => linker.func_wrap(
            module,
            name,
            move |mut c: C<'_>, np: i32, nl: i32, index: i64, dst: i32, cap: i32| -> R<i32> {
                allow(&c, imp)?;
                let (memory, [n]) = ranges(&mut c, imp, [(np, nl)])?;
                charge(&mut c, n.len())?;
                let Ok(index) = u64::try_from(index) else {
                    return Ok(-1);
                };
                let (data, host) = memory.data_and_store_mut(&mut c);
                let value = host.read(|s| s.list_get(&data[n.get()], index))?;
                give(&mut c, imp, value, dst, cap)
            },
        ),
        _ => {
            return Err(wasmtime::Error::msg(
                "the host has no implementation of this import",
            ))
        }
    }?;
    Ok(())
}
