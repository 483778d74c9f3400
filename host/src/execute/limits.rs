//! [`Limits`]: the per-call caps of `docs/limits.md`.

use crate::write_log::LogLimits;

/// Per-call caps (`docs/limits.md`). Going over one traps that call only; see invariant (E) of
/// [`crate::execute`].
///
/// [`Default`] gives the defaults of `docs/limits.md` and a fuel budget of
/// [`Limits::DEFAULT_FUEL`].
///
/// # Examples
///
/// ```
/// use commute::execute::Limits;
///
/// let limits = Limits::default();
/// assert_eq!(limits.memory_bytes, 64 << 20);
/// assert_eq!(limits.arg_bytes, 2 << 20);
/// assert_eq!(limits.child_calls, 256);
/// let tight = Limits { fuel: 1_000_000, ..Limits::default() };
/// assert_eq!(tight.log, limits.log);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The instruction budget of one call, in wasmtime fuel (about one unit per wasm
    /// operator, plus what imports cost: [`crate::execute::HOST_CALL_FUEL`] and one per
    /// byte moved). Running out traps the call.
    pub fuel: u64,
    /// The most bytes of linear memory a call's instance may have. `memory.grow` past it
    /// returns -1; a module whose initial memory is over it cannot be compiled or run.
    pub memory_bytes: u64,
    /// The most bytes of Candid argument a call may have, and of reply it may build.
    pub arg_bytes: usize,
    /// The caps on the write log, checked as each write is issued.
    pub log: LogLimits,
    /// The most `call_pure` calls one call may fire.
    pub child_calls: usize,
}

impl Limits {
    /// The default fuel budget: one billion units.
    ///
    /// A CPU-bound call of about 50 µs uses some 50,000 to 150,000 units, so this is
    /// thousands of such calls over, and Candid-decoding a 2 MiB argument fits easily.
    /// A guest that only loops runs into it after about 1 s of one core (measured 0.85 to
    /// 1.1 s on two x86-64 machines; 5 billion, the IC's query limit, took 4.2 s), so a
    /// hostile call holds up its round for about a second. Raise it for heavy canisters.
    ///
    /// ```
    /// assert_eq!(commute::execute::Limits::DEFAULT_FUEL, 1_000_000_000);
    /// ```
    pub const DEFAULT_FUEL: u64 = 1_000_000_000;

    /// The defaults of `docs/limits.md`: 64 MiB of memory, 2 MiB of arguments, the default
    /// [`LogLimits`], 256 child calls; and [`Limits::DEFAULT_FUEL`].
    ///
    /// ```
    /// use commute::execute::Limits;
    ///
    /// assert_eq!(Limits::DEFAULT, Limits::default());
    /// ```
    pub const DEFAULT: Limits = Limits {
        fuel: Limits::DEFAULT_FUEL,
        memory_bytes: 64 << 20,
        arg_bytes: 2 << 20,
        log: LogLimits::DEFAULT,
        child_calls: 256,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
