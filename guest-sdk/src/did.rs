//! The `.did` that `export_candid!()` derives: [`Service`] collects the canister's methods
//! with their Candid types and prints them in the standard form `commute did check`
//! prints (`docs/did.md`): each pure update `oneway` under `// @pure_update key(...)`.
//!
//! The text is built at run time because only the canister's code knows its types'
//! Candid shapes (`CandidType::ty()`); the proc macros know their names only. Types go
//! through candid's own `TypeContainer` and printer, as candid's `export_service!` does;
//! the service is printed here because candid's printer has no argument names, and keys
//! read best by name. Invariant (A): the output is a fixed point of the host's reading,
//! `Did::parse(text).standard() == text`, so what a canister derives is what install
//! stores; the host's tests check it on the examples.

use std::collections::BTreeMap;

use candid::pretty::candid::{compile_with_docs, pp_docs, pp_modes, pp_text, pp_ty, DocComments};
use candid::pretty::utils::{concat, enclose, enclose_space, kwd, INDENT_SPACE, LINE_WIDTH};
use candid::types::internal::TypeContainer;
use candid::types::{FuncMode, Type, TypeDoc};
use candid::CandidType;
use commute_abi::Mode;
use pretty::RcDoc;

/// An argument: its name in the `.did`, if it has one, and its type.
pub type Arg = (Option<&'static str>, Type);

/// A canister's interface as `export_candid!()` derives it. Not API: the macro's
/// expansion uses it.
pub struct Service {
    env: TypeContainer,
    init: Option<Vec<Arg>>,
    methods: BTreeMap<&'static str, Method>,
}

struct Method {
    mode: Mode,
    args: Vec<Arg>,
    /// The results, unnamed.
    rets: Vec<Arg>,
    keys: Vec<usize>,
    docs: Vec<String>,
}

impl Default for Service {
    fn default() -> Self {
        Service::new()
    }
}

impl Service {
    /// An interface with no methods.
    pub fn new() -> Self {
        Service {
            env: TypeContainer::new(),
            init: None,
            methods: BTreeMap::new(),
        }
    }

    /// `T`'s Candid type, its named parts defined in this interface.
    pub fn ty<T: CandidType>(&mut self) -> Type {
        self.env.add::<T>()
    }

    /// The init arguments: `service : (ARGS) -> { ... }`.
    pub fn init(&mut self, args: Vec<Arg>) {
        self.init = Some(args);
    }

    /// Adds a method; `keys` are positions in `args` (pure updates only), `docs` the lines
    /// of its comment.
    pub fn method(
        &mut self,
        name: &'static str,
        mode: Mode,
        args: Vec<Arg>,
        rets: Vec<Type>,
        keys: &[usize],
        docs: &[&str],
    ) {
        // A doc line that reads as the tag would be taken for it when read back.
        let docs = docs
            .iter()
            .filter(|d| !d.trim_start().starts_with("@pure_update"))
            .map(|d| d.to_string())
            .collect();
        self.methods.insert(
            name,
            Method {
                mode,
                args,
                rets: rets.into_iter().map(|t| (None, t)).collect(),
                keys: keys.to_vec(),
                docs,
            },
        );
    }

    /// The `.did` text: the named types (with the first paragraph of their Rust docs), then
    /// the service, its methods by name.
    pub fn finish(self) -> String {
        let Service { env, init, methods } = self;
        let mut docs = DocComments::empty();
        for (name, mut doc) in env.docs.named {
            summarize(&mut doc);
            docs.add_type_def(name, doc);
        }
        let mut text = compile_with_docs(&env.env, &None, &docs);
        let methods: Vec<(&str, Method)> = methods
            .into_iter()
            .map(|(name, mut m)| {
                // candid_parser attaches no comment to a quoted name (`"record"`), so
                // such a method's doc would not survive a reading: invariant (A).
                if pp_text(name)
                    .pretty(LINE_WIDTH)
                    .to_string()
                    .starts_with('"')
                {
                    m.docs.clear();
                }
                if m.mode == Mode::PureUpdate {
                    m.docs.push(tag(&m));
                }
                (name, m)
            })
            .collect();
        let service = enclose_space(
            "{",
            concat(methods.iter().map(|(name, m)| pp_method(name, m)), ";"),
            "}",
        );
        let actor = match &init {
            Some(args) => pp_args(args).append(kwd(" ->")).append(service),
            None => service,
        };
        text.push_str(
            &kwd("service :")
                .append(actor)
                .pretty(LINE_WIDTH)
                .to_string(),
        );
        text.push('\n');
        text
    }
}

fn pp_method<'a>(name: &'a str, m: &'a Method) -> RcDoc<'a> {
    let modes: &[FuncMode] = match m.mode {
        Mode::Query => &[FuncMode::Query],
        Mode::Oneway | Mode::PureUpdate => &[FuncMode::Oneway],
        Mode::Update | Mode::Init => &[],
    };
    let func = pp_args(&m.args)
        .append(kwd(" ->"))
        .append(pp_args(&m.rets).append(pp_modes(modes)))
        .nest(INDENT_SPACE);
    pp_docs(&m.docs)
        .append(pp_text(name))
        .append(kwd(" :"))
        .append(func)
}

fn pp_arg(arg: &Arg) -> RcDoc<'_> {
    match arg.0 {
        Some(name) => pp_text(name).append(kwd(" :")).append(pp_ty(&arg.1)),
        None => pp_ty(&arg.1),
    }
}

fn pp_args(args: &[Arg]) -> RcDoc<'_> {
    enclose("(", concat(args.iter().map(pp_arg), ","), ")")
}

/// The tag of a pure update, as the host writes it: `@pure_update key(from, to)`, a key by
/// its argument's name where that is a plain identifier, else by position.
fn tag(m: &Method) -> String {
    if m.keys.is_empty() {
        return "@pure_update".to_string();
    }
    let keys: Vec<String> = m
        .keys
        .iter()
        .map(|&p| match m.args.get(p).and_then(|a| a.0) {
            Some(name) if commute_abi::is_plain_key_name(name) => name.to_string(),
            _ => p.to_string(),
        })
        .collect();
    format!("@pure_update key({})", keys.join(", "))
}

/// Cuts every doc of a type to its first paragraph, as the methods' are.
fn summarize(doc: &mut TypeDoc) {
    cut(&mut doc.docs);
    for field in doc.fields.values_mut() {
        cut(&mut field.docs);
        if let Some(ty) = field.ty.as_deref_mut() {
            summarize(ty);
        }
    }
}

fn cut(lines: &mut Vec<String>) {
    if let Some(end) = lines.iter().position(|l| l.trim().is_empty()) {
        lines.truncate(end);
    }
}

#[cfg(test)]
mod tests;
