//! The derived interface: what `export_candid!()` builds the `.did` from.
//!
//! Each entry-point attribute [`record`]s its method — name, mode, argument names and
//! types, result types, keys, doc summary — in this process-wide list, and
//! `export_candid!()`, expanded after them (last in `lib.rs`), [`take`]s the list and
//! expands to a function that builds the `.did` at run time from the types'
//! `CandidType::ty()`. A proc macro cannot see a type's Candid shape, only its name, which
//! is why the text is built by the canister's code, as ic-cdk's `export_candid!()` does.
//!
//! Rustc expands the macros of one crate in one process, in source order, so the list
//! holds exactly the crate's methods seen so far. The types are kept as source text and
//! named again where `export_candid!()` stands (as candid's `export_service!` does), so
//! they must be nameable there.

use commute_abi::Mode;
use proc_macro2::TokenStream;
use quote::quote;
use std::sync::Mutex;
use syn::{Error, Type};

/// One argument: its name in the `.did` (none for a pattern) and its Rust type's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arg {
    pub(crate) name: Option<String>,
    pub(crate) ty: String,
}

/// A method as its attribute saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Method {
    pub(crate) name: String,
    pub(crate) mode: Mode,
    pub(crate) args: Vec<Arg>,
    /// The result types' text, a tuple's elements counted apart.
    pub(crate) rets: Vec<String>,
    /// Key argument positions, as `key = "..."` named them.
    pub(crate) keys: Vec<usize>,
    /// The doc comment's first paragraph, one entry per line.
    pub(crate) docs: Vec<String>,
}

/// The methods (and the init, in `mode` [`Mode::Init`]) recorded since the last
/// [`take`], in the order their attributes expanded.
static RECORDED: Mutex<Vec<Method>> = Mutex::new(Vec::new());

/// Records a method for the next `export_candid!()`.
pub(crate) fn record(method: Method) {
    RECORDED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(method);
}

/// Takes every method recorded so far, leaving the list empty for the next crate.
pub(crate) fn take() -> Vec<Method> {
    std::mem::take(&mut *RECORDED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The first paragraph of the doc comment in `attrs`, trimmed line by line: a `.did`
/// comment is a summary, the examples and details stay in the Rust docs.
pub(crate) fn doc_summary(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        let syn::Meta::NameValue(meta) = &attr.meta else {
            continue;
        };
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &meta.value
        else {
            continue;
        };
        let text = s.value();
        if text.trim().is_empty() {
            lines.push(String::new()); // `///` alone: the paragraph ends
        }
        lines.extend(text.lines().map(|l| l.trim().to_string()));
    }
    let end = lines
        .iter()
        .position(|l| l.is_empty())
        .unwrap_or(lines.len());
    lines.truncate(end);
    lines
}

/// Expands `export_candid!()`: `__export_service()`, which builds the `.did` text, and the
/// query export that replies with it (`docs/guest-abi.md`), which `commute install` runs
/// when given no `.did`.
pub(crate) fn expand_derived(methods: Vec<Method>) -> Result<TokenStream, Error> {
    let mut init = quote! {};
    let mut calls = Vec::new();
    for method in &methods {
        let args = method
            .args
            .iter()
            .map(|a| {
                let ty = parse_type(&a.ty)?;
                let name = match &a.name {
                    Some(n) => quote! { ::core::option::Option::Some(#n) },
                    None => quote! { ::core::option::Option::None },
                };
                Ok(quote! { (#name, __commute_service.ty::<#ty>()) })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        if method.mode == Mode::Init {
            init = quote! {
                let __commute_args = ::std::vec![#(#args),*];
                __commute_service.init(__commute_args);
            };
            continue;
        }
        let rets = method
            .rets
            .iter()
            .map(|t| {
                let ty = parse_type(t)?;
                Ok(quote! { __commute_service.ty::<#ty>() })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let name = &method.name;
        let mode = crate::export::mode_tokens(method.mode);
        let keys = &method.keys;
        let docs = &method.docs;
        calls.push(quote! {
            let __commute_args = ::std::vec![#(#args),*];
            let __commute_rets = ::std::vec![#(#rets),*];
            __commute_service.method(
                #name,
                #mode,
                __commute_args,
                __commute_rets,
                &[#(#keys),*],
                &[#(#docs),*],
            );
        });
    }
    let query = commute_abi::export::CANDID_QUERY;
    let export = commute_abi::export::method(Mode::Query, query);
    let query_mode = crate::export::mode_tokens(Mode::Query);
    Ok(quote! {
        /// The canister's Candid interface in the standard form, derived from its
        /// methods' signatures by `commute_cdk::export_candid!()`.
        #[doc(hidden)]
        #[allow(dead_code)]
        pub fn __export_service() -> ::std::string::String {
            let mut __commute_service = ::commute_cdk::__private::Service::new();
            #init
            #(#calls)*
            __commute_service.finish()
        }

        #[doc(hidden)]
        #[cfg_attr(target_arch = "wasm32", unsafe(export_name = #export))]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        fn __commute_candid_query() {
            ::commute_cdk::__private::entry(#query_mode, #query, || {
                ::commute_cdk::__private::reply((__export_service(),), #query);
            });
        }
    })
}

fn parse_type(text: &str) -> Result<Type, Error> {
    syn::parse_str(text)
}

/// Expands `export_candid!("file.did")`: the file, named relative to the crate's
/// `Cargo.toml`, as the `icp:public candid:service` custom section.
pub(crate) fn expand_file(path: &syn::LitStr) -> TokenStream {
    let section = commute_abi::export::CANDID_SECTION;
    quote! {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = #section)]
        #[used]
        static __COMMUTE_CANDID_SERVICE: [u8; ::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            #path
        ))
        .len()] = *::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            #path
        ));
    }
}

#[cfg(test)]
mod tests;
