//! Emitting the standard `.did`: each pure method written as `oneway`, with its tag kept
//! as the comment line directly above it (`docs/did.md`).
//!
//! `candid_parser`'s own pretty-printer writes the file, so the output is whatever stock
//! Candid tools accept. The tag rides on the method's doc comments, which that printer
//! writes directly above the method and the Candid lexer reads back as the same docs.
//!
//! Invariant (A): emitting is a fixed point. A `// @pure_update` doc line is dropped before
//! the canonical one is added, and the canonical form depends only on the interface
//! (`key` names an argument by name when it has a plain one, else by position), so
//! emit ∘ parse ∘ emit = emit.

use crate::interface::{Method, Mode};
use candid::types::FuncMode;
use candid_parser::syntax::{pretty_print, Dec, IDLMergedProg, IDLProg, IDLType};
use std::collections::BTreeMap;

/// The doc-comment text of the tag for `method`, e.g. `@pure_update key(from, to)`.
pub(crate) fn tag_line(method: &Method) -> String {
    if method.keys.is_empty() {
        return "@pure_update".to_string();
    }
    let keys: Vec<String> = method
        .keys
        .iter()
        .map(|&p| match method.args[p].name.as_deref() {
            Some(n) if commute_abi::is_plain_key_name(n) => n.to_string(),
            _ => p.to_string(),
        })
        .collect();
    format!("@pure_update key({})", keys.join(", "))
}

/// Marks every pure method of the main service in `prog` as `oneway` with its tag line.
pub(crate) fn tag_pure_methods(prog: &mut IDLProg, methods: &BTreeMap<String, Method>) {
    let Some(service) = main_service(prog) else {
        return;
    };
    for binding in service {
        let Some(method) = methods.get(&binding.id) else {
            continue;
        };
        binding
            .docs
            .retain(|d| !d.trim_start().starts_with("@pure_update"));
        if method.mode != Mode::PureUpdate {
            continue;
        }
        binding.docs.push(tag_line(method));
        if let IDLType::FuncT(f) = &mut binding.typ {
            f.modes = vec![FuncMode::Oneway];
        }
    }
}

/// The method list of the main service, through `service : T` and `type T = ...` names.
fn main_service(prog: &mut IDLProg) -> Option<&mut Vec<candid_parser::syntax::Binding>> {
    let mut ty = &prog.actor.as_ref()?.typ;
    let mut in_decs = None;
    for _ in 0..=prog.decs.len() {
        match ty {
            IDLType::ClassT(_, inner) => ty = inner,
            IDLType::VarT(name) => {
                let i = prog
                    .decs
                    .iter()
                    .position(|d| matches!(d, Dec::TypD(b) if &b.id == name))?;
                in_decs = Some(i);
                let Dec::TypD(b) = &prog.decs[i] else {
                    return None;
                };
                ty = &b.typ;
            }
            _ => break,
        }
    }
    // Walk again, mutably, to the same place.
    let target = match in_decs {
        Some(i) => match &mut prog.decs[i] {
            Dec::TypD(b) => &mut b.typ,
            _ => return None,
        },
        None => &mut prog.actor.as_mut()?.typ,
    };
    let target = match target {
        IDLType::ClassT(_, inner) => inner.as_mut(),
        t => t,
    };
    match target {
        IDLType::ServT(methods) => Some(methods),
        _ => None,
    }
}

/// The standard `.did` text of `prog`.
pub(crate) fn standard(prog: IDLProg) -> String {
    let mut text = pretty_print(&IDLMergedProg::new(prog));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
