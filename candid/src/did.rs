//! A checked `.did` file: the front end's single entry point.
//!
//! [`Did::parse`] runs the stages in order, each on the output of the one before:
//!
//! 1. [`lift`](crate::lift): find the `pure_update` tags and blank them out;
//! 2. `candid_parser`: parse the rest as standard Candid (positions still the user's);
//! 3. `candid_parser`: type-check; its errors carry no position, so [`locate`](crate::locate)
//!    finds the line they are about;
//! 4. resolve each tag's `key(...)` against the method's declared arguments;
//! 5. build the [`Interface`] and the standard `.did` text ([`emit`](crate::emit)).
//!
//! The first error found stops the pipeline; there is never a partial result.

use crate::error::{DidError, Located};
use crate::interface::{Arg, Interface, Method, Mode};
use crate::lift::{lift, KeyRef, Tag};
use crate::{emit, locate, nesting};
use candid::types::{FuncMode, Type};
use candid::TypeEnv;
use candid_parser::syntax::{Binding, Dec, IDLArgType, IDLProg, IDLType};
use std::collections::BTreeMap;

/// A `.did` file that passed every check.
///
/// # Examples
///
/// ```
/// use commute_did::{Did, Mode};
///
/// let did = Did::parse("logger.did", r#"
///     service : {
///       log : (user : principal, event : text) -> () pure_update key(user);
///       count : (principal) -> (nat64) query;
///     }"#).unwrap();
/// let log = did.interface().method("log").unwrap();
/// assert_eq!((log.mode, log.keys.clone()), (Mode::PureUpdate, vec![0]));
/// assert!(did.standard().contains("// @pure_update key(user)\n  log : (user : principal, event : text) -> () oneway;"));
/// ```
#[derive(Debug, Clone)]
pub struct Did {
    interface: Interface,
    standard: String,
}

impl Did {
    /// Parses and checks `src`, the text of the file called `file` (used in errors only).
    ///
    /// # Errors
    ///
    /// A [`DidError`] at the first problem: a misused `pure_update` or `key(...)`, a Candid
    /// syntax or type error, or an import (commute reads one self-contained file).
    pub fn parse(file: &str, src: &str) -> Result<Did, DidError> {
        Did::parse_located(src).map_err(|e| e.into_error(file, src))
    }

    fn parse_located(src: &str) -> Result<Did, Located> {
        nesting::check_did(src)?;
        let lifted = lift(src)?;
        let mut prog: IDLProg = lifted
            .text
            .parse()
            .map_err(|e| locate::parse_error(src, e))?;
        if prog.decs.iter().any(|d| !matches!(d, Dec::TypD(_))) {
            return Err(locate::word(
                src,
                "import",
                "imports are not supported: inline the types",
            ));
        }
        if prog.actor.is_none() {
            return Err(Located::new(src.len(), "no `service` declared"));
        }
        let mut env = TypeEnv::new();
        let actor = candid_parser::check_prog(&mut env, &prog)
            .map_err(|e| locate::type_error(src, &e.to_string()))?
            .ok_or_else(|| Located::new(src.len(), "no `service` declared"))?;

        let (init_types, service) = match actor.as_ref() {
            candid::types::TypeInner::Class(args, serv) => (args.clone(), serv.clone()),
            _ => (Vec::new(), actor.clone()),
        };
        let syntax = Syntax::new(&prog);
        let init = named(&init_types, syntax.init_names());
        let mut methods = BTreeMap::new();
        for (name, ty) in env
            .as_service(&service)
            .map_err(|e| locate::type_error(src, &e.to_string()))?
        {
            let func = env
                .as_func(ty)
                .map_err(|e| locate::type_error(src, &e.to_string()))?;
            let mode = match func.modes.first() {
                None => Mode::Update,
                Some(FuncMode::Query) => Mode::Query,
                Some(FuncMode::CompositeQuery) => Mode::CompositeQuery,
                Some(FuncMode::Oneway) => Mode::Oneway,
            };
            let method = Method {
                name: name.clone(),
                mode,
                args: named(&func.args, syntax.arg_names(name)),
                rets: func.rets.clone(),
                keys: Vec::new(),
            };
            methods.insert(name.clone(), method);
        }
        for tag in &lifted.tags {
            // Lifting checked the tag sits on a method of this service (lift invariant C).
            let method = methods
                .get_mut(&tag.method)
                .ok_or_else(|| Located::new(tag.at, format!("no method `{}`", tag.method)))?;
            method.mode = Mode::PureUpdate;
            method.keys = resolve_keys(tag, method)?;
        }
        emit::tag_pure_methods(&mut prog, &methods);
        let standard = emit::standard(prog);
        // Safety net for the fixed point: never print what stock Candid cannot read back.
        if let Err(e) = standard.parse::<IDLProg>() {
            return Err(Located::new(
                0,
                format!("this file has no standard Candid form: {}", e),
            ));
        }
        Ok(Did {
            interface: Interface::new(env, methods, init),
            standard,
        })
    }

    /// The checked interface.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// The standard `.did` that every Candid tool accepts: each pure method as `oneway`
    /// with `// @pure_update key(...)` on the line above it. Parsing it again gives the
    /// same interface and the same text (a fixed point).
    pub fn standard(&self) -> &str {
        &self.standard
    }
}

fn named(types: &[Type], names: Vec<Option<String>>) -> Vec<Arg> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| Arg {
            name: names.get(i).cloned().flatten(),
            ty: ty.clone(),
        })
        .collect()
}

/// Resolves `key(...)` to argument positions: by name or 0-based position, each argument
/// at most once.
fn resolve_keys(tag: &Tag, method: &Method) -> Result<Vec<usize>, Located> {
    let Some(clause) = &tag.keys else {
        return Ok(Vec::new());
    };
    let name = &method.name;
    let mut keys: Vec<usize> = Vec::new();
    for r in &clause.refs {
        let at = r.offset();
        let p = match r {
            KeyRef::Name(arg, _) => method
                .args
                .iter()
                .position(|a| a.name.as_deref() == Some(arg.as_str()))
                .ok_or_else(|| {
                    Located::new(
                        at,
                        format!("unknown key argument `{arg}` of method `{name}`"),
                    )
                })?,
            KeyRef::Index(i, _) => usize::try_from(*i)
                .ok()
                .filter(|&i| i < method.args.len())
                .ok_or_else(|| {
                    Located::new(
                        at,
                        format!(
                            "key position {i} is out of range: method `{name}` has {} argument(s)",
                            method.args.len()
                        ),
                    )
                })?,
        };
        if keys.contains(&p) {
            let arg = match &method.args[p].name {
                Some(n) => format!("`{n}` (position {p})"),
                None => format!("at position {p}"),
            };
            return Err(Located::new(
                at,
                format!("argument {arg} of method `{name}` is named twice in `key(...)`"),
            ));
        }
        keys.push(p);
    }
    Ok(keys)
}

/// Argument names, which only the syntax tree keeps (typed functions drop them).
struct Syntax<'a> {
    prog: &'a IDLProg,
}

impl<'a> Syntax<'a> {
    fn new(prog: &'a IDLProg) -> Self {
        Syntax { prog }
    }

    /// Follows type names to their definition; bounded, as `check_prog` ruled out cycles
    /// only for the types it visited.
    fn chase(&self, mut ty: &'a IDLType) -> &'a IDLType {
        for _ in 0..=self.prog.decs.len() {
            let IDLType::VarT(name) = ty else { break };
            let def = self.prog.decs.iter().find_map(|d| match d {
                Dec::TypD(Binding { id, typ, .. }) if id == name => Some(typ),
                _ => None,
            });
            match def {
                Some(t) => ty = t,
                None => break,
            }
        }
        ty
    }

    fn actor(&self) -> Option<&'a IDLType> {
        self.prog.actor.as_ref().map(|a| &a.typ)
    }

    fn init_names(&self) -> Vec<Option<String>> {
        match self.actor() {
            Some(IDLType::ClassT(args, _)) => names(args),
            _ => Vec::new(),
        }
    }

    fn arg_names(&self, method: &str) -> Vec<Option<String>> {
        let service = match self.actor() {
            Some(IDLType::ClassT(_, serv)) => self.chase(serv),
            Some(t) => self.chase(t),
            None => return Vec::new(),
        };
        let IDLType::ServT(methods) = service else {
            return Vec::new();
        };
        methods
            .iter()
            .find(|b| b.id == method)
            .map(|b| match self.chase(&b.typ) {
                IDLType::FuncT(f) => names(&f.args),
                _ => Vec::new(),
            })
            .unwrap_or_default()
    }
}

fn names(args: &[IDLArgType]) -> Vec<Option<String>> {
    args.iter().map(|a| a.name.clone()).collect()
}

#[cfg(test)]
mod tests;
