//! The expansion shared by every entry-point macro.
//!
//! `#[query] fn count(user: Principal) -> u64 { .. }` expands to the function itself,
//! unchanged on wasm (natively it first enters the method's mode, so a unit test that
//! reads state in a pure update panics the way the host traps), plus a wrapper:
//!
//! ```text
//! #[cfg_attr(target_arch = "wasm32", unsafe(export_name = "canister_query count"))]
//! fn __commute_query_count() {
//!     entry(Mode::Query, "count", || {
//!         /* guards */
//!         let bytes = msg_arg_data();
//!         let (a0,): (Principal,) = decode_args(&bytes, "count");
//!         let result = count(a0);
//!         reply((result,), "count");          // not for pure updates and init
//!     })
//! }
//! ```
//!
//! Natively the wrapper is not exported (nothing would call it), but it is compiled, so
//! clippy and the type checker see the same code the wasm build runs.

use commute_abi::Mode;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Expr, ExprLit, FnArg, ItemFn, Lit, MetaNameValue, Pat, ReturnType, Token, Type};

use crate::interface;

/// The options an entry-point attribute accepts.
#[derive(Default)]
struct Options {
    /// `name = "..."`: the method's Candid name, if not the function's.
    name: Option<String>,
    /// `guard = "path"`, repeatable: functions `fn() -> Result<(), String>` run first.
    guards: Vec<syn::Path>,
    /// `key = "a, b"`, repeatable (pure updates only): the parameters that are keys.
    keys: Vec<(String, Span)>,
}

fn parse_options(mode: Mode, attr: TokenStream) -> Result<Options, Error> {
    let metas = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr)?;
    let mut options = Options::default();
    for meta in metas {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let value = match &meta.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s,
            other => {
                return Err(Error::new(
                    other.span(),
                    format!("`{key}` takes a string literal"),
                ))
            }
        };
        match key.as_str() {
            "name" if mode == Mode::Init => {
                return Err(Error::new(
                    meta.span(),
                    "#[init] cannot have a name: it is exported as `canister_init`",
                ))
            }
            "name" => {
                if options.name.is_some() {
                    return Err(Error::new(meta.span(), "`name` is given twice"));
                }
                if value.value().is_empty() {
                    return Err(Error::new(value.span(), "`name` cannot be empty"));
                }
                options.name = Some(value.value());
            }
            "guard" if mode == Mode::Init => {
                return Err(Error::new(meta.span(), "#[init] cannot have a guard"))
            }
            "guard" => options.guards.push(value.parse()?),
            "key" if mode != Mode::PureUpdate => {
                return Err(Error::new(
                    meta.span(),
                    format!(
                        "{} cannot have a key: only a #[pure_update] declares keys",
                        attribute(mode)
                    ),
                ))
            }
            "key" => {
                // `key = "a, b"`: each name, spanned at the literal for the errors.
                for name in value.value().split(',').map(str::trim) {
                    let plain = !name.is_empty()
                        && !name.starts_with(|c: char| c.is_ascii_digit())
                        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                    if !plain {
                        return Err(Error::new(
                            value.span(),
                            format!(
                                "`{name}` is not a parameter name: write `key = \"user\"` or `key = \"from, to\"`"
                            ),
                        ));
                    }
                    options.keys.push((name.to_string(), value.span()));
                }
            }
            _ => {
                let also = if mode == Mode::PureUpdate {
                    ", `guard = \"...\"` or `key = \"...\"`"
                } else {
                    " or `guard = \"...\"`"
                };
                return Err(Error::new(
                    meta.path.span(),
                    format!("unknown option `{key}`: expected `name = \"...\"`{also}"),
                ));
            }
        }
    }
    Ok(options)
}

/// The attribute's name as a user writes it, for error messages.
fn attribute(mode: Mode) -> &'static str {
    match mode {
        Mode::Init => "#[init]",
        Mode::Update | Mode::Oneway => "#[update]",
        Mode::Query => "#[query]",
        Mode::PureUpdate => "#[pure_update]",
    }
}

/// How many values the function returns, counting a tuple's elements as Candid does.
fn return_arity(output: &ReturnType) -> usize {
    match output {
        ReturnType::Default => 0,
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Tuple(tuple) => tuple.elems.len(),
            _ => 1,
        },
    }
}

/// Expands `#[<mode>(attr)] item`.
pub(crate) fn expand(
    mode: Mode,
    attr: TokenStream,
    item: TokenStream,
) -> Result<TokenStream, Error> {
    let options = parse_options(mode, attr)?;
    let at = attribute(mode);
    let mut fun: ItemFn = syn::parse2(item)
        .map_err(|e| Error::new(e.span(), format!("{at} must be above a function: {e}")))?;
    let sig = &fun.sig;
    if let Some(asyncness) = sig.asyncness {
        return Err(Error::new(
            asyncness.span(),
            format!("{at} cannot be async: commute has no awaited calls (use `call_pure` or `Call::oneway`)"),
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(Error::new(
            sig.generics.span(),
            format!("{at} must be above a function with no generic parameters"),
        ));
    }
    let mut arg_names = Vec::new();
    let mut arg_types = Vec::new();
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                return Err(Error::new(
                    r.span(),
                    format!("{at} cannot be above a method with `self`"),
                ))
            }
            FnArg::Typed(typed) => {
                arg_names.push(format_ident!("__commute_arg{i}"));
                arg_types.push(typed.ty.as_ref().clone());
                params.push(match typed.pat.as_ref() {
                    Pat::Ident(p) => Some(p.ident.unraw().to_string()),
                    _ => None,
                });
            }
        }
    }
    let arity = return_arity(&sig.output);
    if arity > 0 && matches!(mode, Mode::PureUpdate | Mode::Init) {
        let what = if mode == Mode::PureUpdate {
            "a #[pure_update] method must return (): pure calls are fire-and-forget and never reply"
        } else {
            "#[init] must return ()"
        };
        return Err(Error::new(sig.output.span(), what));
    }

    let ident = &sig.ident;
    let method = options
        .name
        .clone()
        .unwrap_or_else(|| ident.unraw().to_string());
    let keys = key_positions(&options.keys, &params, &method)?;
    interface::record(interface::Method {
        name: method.clone(),
        mode,
        args: did_names(&params)
            .into_iter()
            .zip(&arg_types)
            .map(|(name, ty)| interface::Arg {
                name,
                ty: ty.to_token_stream().to_string(),
            })
            .collect(),
        rets: match &sig.output {
            ReturnType::Default => Vec::new(),
            ReturnType::Type(_, ty) => match ty.as_ref() {
                Type::Tuple(tuple) => tuple
                    .elems
                    .iter()
                    .map(|t| t.to_token_stream().to_string())
                    .collect(),
                other => vec![other.to_token_stream().to_string()],
            },
        },
        keys,
        docs: interface::doc_summary(&fun.attrs),
    });
    let export_name = commute_abi::export::method(mode, &method);
    let wrapper = format_ident!("__commute_{}_{}", mode.as_str(), ident);
    let mode_tokens = mode_tokens(mode);

    let guards = options.guards.iter().map(|guard| {
        quote_spanned! {guard.span()=>
            let __commute_guard: ::core::result::Result<(), ::std::string::String> = #guard();
            if let ::core::result::Result::Err(e) = __commute_guard {
                ::commute_cdk::__private::guard_failed(#mode_tokens, #method, e);
                return;
            }
        }
    });
    let decode = if arg_names.is_empty() {
        quote! {}
    } else {
        quote! {
            let __commute_bytes = ::commute_cdk::api::msg_arg_data();
            let ( #(#arg_names,)* ): ( #(#arg_types,)* ) =
                ::commute_cdk::__private::decode_args(&__commute_bytes, #method);
        }
    };
    let call = quote! { #ident( #(#arg_names),* ) };
    let body = match (mode, arity) {
        (Mode::PureUpdate | Mode::Init, _) => quote! { #call; },
        (_, 0) => quote! {
            #call;
            ::commute_cdk::__private::reply((), #method);
        },
        (_, 1) => quote! {
            let __commute_result = #call;
            ::commute_cdk::__private::reply((__commute_result,), #method);
        },
        (_, _) => quote! {
            let __commute_result = #call;
            ::commute_cdk::__private::reply(__commute_result, #method);
        },
    };

    // Natively, the method itself enters its mode, so unit tests that call it directly
    // see the host's rules (a read in a pure update panics, a write in a query panics).
    let enter: syn::Stmt = syn::parse_quote! {
        #[cfg(not(target_arch = "wasm32"))]
        let __commute_mode = ::commute_cdk::__private::enter(#mode_tokens, #method);
    };
    fun.block.stmts.insert(0, enter);

    // The mode this method is compiled for, in the wasm's `commute:modes` section, so an
    // install whose `.did` says otherwise is refused by name instead of trapping later.
    let record = (mode != Mode::Init).then(|| {
        let bytes = commute_abi::export::mode_record(mode, &method).into_bytes();
        let len = bytes.len();
        let literal = syn::LitByteStr::new(&bytes, Span::call_site());
        let section = commute_abi::export::MODES_SECTION;
        let name = format_ident!("__COMMUTE_MODE_{}", wrapper.to_string().to_uppercase());
        quote! {
            #[cfg(target_arch = "wasm32")]
            #[doc(hidden)]
            #[used]
            #[unsafe(link_section = #section)]
            static #name: [u8; #len] = *#literal;
        }
    });

    Ok(quote! {
        #fun

        #record

        #[doc(hidden)]
        #[cfg_attr(target_arch = "wasm32", unsafe(export_name = #export_name))]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        fn #wrapper() {
            ::commute_cdk::__private::entry(#mode_tokens, #method, || {
                #(#guards)*
                #decode
                #body
            });
        }
    })
}

/// The positions of the parameters `keys` names, each once; an error names the first key
/// that is no parameter of `method`, at the `key` option.
fn key_positions(
    keys: &[(String, Span)],
    params: &[Option<String>],
    method: &str,
) -> Result<Vec<usize>, Error> {
    let mut positions = Vec::new();
    for (name, span) in keys {
        let Some(p) = params.iter().position(|p| p.as_deref() == Some(name)) else {
            let known: Vec<&str> = params.iter().flatten().map(String::as_str).collect();
            return Err(Error::new(
                *span,
                format!(
                    "key `{name}` is not a parameter of `{method}` (its parameters: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        if positions.contains(&p) {
            return Err(Error::new(*span, format!("key `{name}` is given twice")));
        }
        positions.push(p);
    }
    Ok(positions)
}

/// The `.did` names of the parameters: the Rust name without its leading underscores
/// (`_event` is a parameter the body ignores, still an `event` to callers) unless that
/// makes two alike; none for a pattern.
fn did_names(params: &[Option<String>]) -> Vec<Option<String>> {
    params
        .iter()
        .map(|p| {
            let name = p.as_deref()?;
            let bare = name.trim_start_matches('_');
            let clash = params.iter().any(|q| q.as_deref() == Some(bare));
            Some(if bare.is_empty() || (clash && bare != name) {
                name.to_string()
            } else {
                bare.to_string()
            })
        })
        .collect()
}

pub(crate) fn mode_tokens(mode: Mode) -> TokenStream {
    let variant = match mode {
        Mode::Init => "Init",
        Mode::Update => "Update",
        Mode::Oneway => "Oneway",
        Mode::Query => "Query",
        Mode::PureUpdate => "PureUpdate",
    };
    let variant = syn::Ident::new(variant, Span::call_site());
    quote! { ::commute_cdk::__private::Mode::#variant }
}

#[cfg(test)]
mod tests;
