//! The shape of one import: [`Import`], its [`Param`]s and [`ValType`]s, its [`Module`]
//! and its [`Class`].

use std::fmt;

use crate::Mode;

/// A wasm value type used by the ABI. Pointers and lengths are `I32` (memory 0 of a
/// wasm32 module); counter deltas, list indices, list lengths and `time` are `I64`.
///
/// ```
/// use commute_abi::ValType;
///
/// assert_eq!(ValType::I64.to_string(), "i64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValType {
    /// A 32-bit integer: a pointer, a length, or a status code.
    I32,
    /// A 64-bit integer.
    I64,
}

impl ValType {
    /// The name wasm text format uses: `"i32"` or `"i64"`.
    ///
    /// ```
    /// assert_eq!(commute_abi::ValType::I32.as_str(), "i32");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wasm module an import comes from.
///
/// ```
/// use commute_abi::Module;
///
/// assert_eq!(Module::Ic0.as_str(), "ic0");
/// assert_eq!(Module::from_name("commute"), Some(Module::Commute));
/// assert_eq!(Module::from_name("env"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    /// `ic0`: the subset of the Internet Computer System API that commute offers, with the
    /// IC's names and 32-bit signatures.
    Ic0,
    /// `commute`: the stable structures and `call_pure`.
    Commute,
}

impl Module {
    /// The module name as it appears in a wasm import.
    ///
    /// ```
    /// assert_eq!(commute_abi::Module::Commute.as_str(), "commute");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Module::Ic0 => "ic0",
            Module::Commute => "commute",
        }
    }

    /// The module with this wasm name, if the ABI has one.
    ///
    /// ```
    /// assert_eq!(commute_abi::Module::from_name("ic0"), Some(commute_abi::Module::Ic0));
    /// ```
    pub fn from_name(name: &str) -> Option<Module> {
        match name {
            "ic0" => Some(Module::Ic0),
            "commute" => Some(Module::Commute),
            _ => None,
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an import does, which decides the [`Mode`]s that may use it (see
/// [`Class::allowed_in`]).
///
/// ```
/// use commute_abi::{Class, Mode};
///
/// assert!(Class::Write.allowed_in(Mode::PureUpdate));
/// assert!(!Class::Write.allowed_in(Mode::Query));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Facts about the call: caller, own principal, time. Allowed everywhere.
    Context,
    /// The call's Candid argument bytes. Allowed everywhere.
    Arg,
    /// `msg_reply_data_append`, `msg_reply`, `msg_reject`: answering the caller. Queries,
    /// updates and oneways only (a oneway's reply is discarded, as on the IC, so a oneway
    /// method written as an ordinary `#[update]` works).
    Reply,
    /// Reads of stable structures. Everywhere but pure updates.
    Read,
    /// Commutative writes to stable structures. Everywhere but queries.
    Write,
    /// `call_pure`: firing a pure call at a canister. Everywhere but queries.
    Call,
    /// `trap` and `debug_print`. Allowed everywhere.
    Diagnostics,
}

impl Class {
    /// Whether a call in `mode` may use an import of this class. The host traps a call
    /// that uses a forbidden import, naming the method and the import (`docs/guest-abi.md`).
    ///
    /// | class | init | update | oneway | query | pure update |
    /// | --- | --- | --- | --- | --- | --- |
    /// | `Context`, `Arg`, `Diagnostics` | yes | yes | yes | yes | yes |
    /// | `Reply` | no | yes | yes | yes | no |
    /// | `Read` | yes | yes | yes | yes | no |
    /// | `Write`, `Call` | yes | yes | yes | no | yes |
    ///
    /// ```
    /// use commute_abi::{Class, Mode};
    ///
    /// assert!(!Class::Read.allowed_in(Mode::PureUpdate));
    /// assert!(!Class::Reply.allowed_in(Mode::PureUpdate));
    /// assert!(!Class::Call.allowed_in(Mode::Query));
    /// assert!(Class::Diagnostics.allowed_in(Mode::PureUpdate));
    /// ```
    pub const fn allowed_in(self, mode: Mode) -> bool {
        match self {
            Class::Context | Class::Arg | Class::Diagnostics => true,
            Class::Reply => !matches!(mode, Mode::Init | Mode::PureUpdate),
            Class::Read => !matches!(mode, Mode::PureUpdate),
            Class::Write | Class::Call => !matches!(mode, Mode::Query),
        }
    }
}

/// One named parameter of an import.
///
/// ```
/// let delta = &commute_abi::import("commute", "counter_add").unwrap().params[4];
/// assert_eq!((delta.name, delta.ty), ("delta", commute_abi::ValType::I64));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// The parameter's name in `docs/guest-abi.md` (documentation only; wasm has no names).
    pub name: &'static str,
    /// Its wasm type.
    pub ty: ValType,
}

/// One import of the ABI: where it comes from, its wasm signature, and its class.
///
/// ```
/// let time = commute_abi::import("ic0", "time").unwrap();
/// assert_eq!(time.to_string(), "ic0.time() -> i64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Import {
    /// The wasm module it is imported from.
    pub module: Module,
    /// The import's name within the module.
    pub name: &'static str,
    /// Its parameters, in order.
    pub params: &'static [Param],
    /// Its results: empty or one value.
    pub results: &'static [ValType],
    /// What it does, which decides where it may be used.
    pub class: Class,
    /// One line on what it does and what it returns.
    pub doc: &'static str,
}

impl Import {
    /// The parameter types in order, as a wasm function type lists them.
    ///
    /// ```
    /// use commute_abi::ValType::{I32, I64};
    ///
    /// let list_get = commute_abi::import("commute", "list_get").unwrap();
    /// assert_eq!(list_get.param_types().collect::<Vec<_>>(), [I32, I32, I64, I32, I32]);
    /// ```
    pub fn param_types(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.params.iter().map(|p| p.ty)
    }

    /// Whether a call in `mode` may use this import; see [`Class::allowed_in`].
    ///
    /// ```
    /// use commute_abi::Mode;
    ///
    /// let reply = commute_abi::import("ic0", "msg_reply").unwrap();
    /// assert!(reply.allowed_in(Mode::Update));
    /// assert!(!reply.allowed_in(Mode::PureUpdate));
    /// ```
    pub const fn allowed_in(&self, mode: Mode) -> bool {
        self.class.allowed_in(mode)
    }
}

/// `module.name(param: type, ...) -> result`, the form `docs/guest-abi.md` and error messages use.
impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}(", self.module, self.name)?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}", p.name, p.ty)?;
        }
        f.write_str(")")?;
        if let [result] = self.results {
            write!(f, " -> {result}")?;
        }
        Ok(())
    }
}
