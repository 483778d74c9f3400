use std::collections::BTreeSet;

use crate::export::{self, Kind};
use crate::{import, Class, Mode, Module, ValType, IMPORTS};

/// The whole table as `docs/guest-abi.md` writes it, one line per import (golden: a change to the
/// ABI must change this list on purpose).
const GOLDEN: &[&str] = &[
    "ic0.msg_arg_data_size() -> i32",
    "ic0.msg_arg_data_copy(dst: i32, offset: i32, size: i32)",
    "ic0.msg_caller_size() -> i32",
    "ic0.msg_caller_copy(dst: i32, offset: i32, size: i32)",
    "ic0.msg_reply_data_append(src: i32, size: i32)",
    "ic0.msg_reply()",
    "ic0.msg_reject(src: i32, size: i32)",
    "ic0.trap(src: i32, size: i32)",
    "ic0.debug_print(src: i32, size: i32)",
    "ic0.time() -> i64",
    "ic0.canister_self_size() -> i32",
    "ic0.canister_self_copy(dst: i32, offset: i32, size: i32)",
    "commute.counter_add(name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32, delta: i64)",
    "commute.map_put(name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32, val_ptr: i32, val_len: i32)",
    "commute.map_remove(name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32)",
    "commute.list_push(name_ptr: i32, name_len: i32, val_ptr: i32, val_len: i32)",
    "commute.call_pure(canister_ptr: i32, canister_len: i32, method_ptr: i32, method_len: i32, arg_ptr: i32, arg_len: i32) -> i32",
    "commute.counter_get(name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32, dst: i32)",
    "commute.map_get(name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32, dst: i32, cap: i32) -> i32",
    "commute.map_next_key(name_ptr: i32, name_len: i32, after_ptr: i32, after_len: i32, dst: i32, cap: i32) -> i32",
    "commute.list_len(name_ptr: i32, name_len: i32) -> i64",
    "commute.list_get(name_ptr: i32, name_len: i32, index: i64, dst: i32, cap: i32) -> i32",
];

#[test]
fn table_matches_golden_signatures() {
    let got: Vec<String> = IMPORTS.iter().map(|i| i.to_string()).collect();
    assert_eq!(got, GOLDEN);
}

// Invariant (A) of `IMPORTS`.
#[test]
fn no_duplicate_imports() {
    let mut seen = BTreeSet::new();
    for i in IMPORTS {
        assert!(
            seen.insert((i.module, i.name)),
            "duplicate import {}.{}",
            i.module,
            i.name
        );
    }
}

#[test]
fn at_most_one_result_and_documented() {
    for i in IMPORTS {
        assert!(i.results.len() <= 1, "{i} has more than one result");
        assert!(!i.doc.is_empty(), "{i} has no doc");
        assert!(!i.doc.contains('\n'), "{i}'s doc is not one line");
    }
}

#[test]
fn classes_are_as_designed() {
    let class_of = |module, name| import(module, name).unwrap().class;
    for name in ["counter_add", "map_put", "map_remove", "list_push"] {
        assert_eq!(class_of("commute", name), Class::Write, "{name}");
    }
    for name in [
        "counter_get",
        "map_get",
        "map_next_key",
        "list_len",
        "list_get",
    ] {
        assert_eq!(class_of("commute", name), Class::Read, "{name}");
    }
    assert_eq!(class_of("commute", "call_pure"), Class::Call);
    for name in ["msg_reply_data_append", "msg_reply", "msg_reject"] {
        assert_eq!(class_of("ic0", name), Class::Reply, "{name}");
    }
    for name in [
        "msg_caller_size",
        "msg_caller_copy",
        "time",
        "canister_self_size",
        "canister_self_copy",
    ] {
        assert_eq!(class_of("ic0", name), Class::Context, "{name}");
    }
    for name in ["msg_arg_data_size", "msg_arg_data_copy"] {
        assert_eq!(class_of("ic0", name), Class::Arg, "{name}");
    }
    for name in ["trap", "debug_print"] {
        assert_eq!(class_of("ic0", name), Class::Diagnostics, "{name}");
    }
}

/// `docs/guest-abi.md`: a pure update may not read or reply, a query may not write or
/// call. Pinned as the full matrix.
#[test]
fn mode_matrix() {
    use Mode::*;
    let expect: &[(Class, &[Mode])] = &[
        (Class::Context, &[Init, Update, Oneway, Query, PureUpdate]),
        (Class::Arg, &[Init, Update, Oneway, Query, PureUpdate]),
        (
            Class::Diagnostics,
            &[Init, Update, Oneway, Query, PureUpdate],
        ),
        (Class::Reply, &[Update, Oneway, Query]),
        (Class::Read, &[Init, Update, Oneway, Query]),
        (Class::Write, &[Init, Update, Oneway, PureUpdate]),
        (Class::Call, &[Init, Update, Oneway, PureUpdate]),
    ];
    for (class, allowed) in expect {
        for mode in Mode::ALL {
            assert_eq!(
                class.allowed_in(mode),
                allowed.contains(&mode),
                "{class:?} in {mode}"
            );
        }
    }
    let pure_forbidden: BTreeSet<&str> = IMPORTS
        .iter()
        .filter(|i| !i.allowed_in(PureUpdate))
        .map(|i| i.name)
        .collect();
    assert!(pure_forbidden.contains("msg_reply"));
    assert!(pure_forbidden.contains("msg_reply_data_append"));
    assert!(pure_forbidden.contains("list_get"));
    assert!(!pure_forbidden.contains("call_pure"));
}

#[test]
fn design_examples() {
    let counter_get = import("commute", "counter_get").unwrap();
    assert!(counter_get.results.is_empty());
    assert!(counter_get.doc.contains("16 bytes, little-endian i128"));
    let map_get = import("commute", "map_get").unwrap();
    assert_eq!(map_get.results, &[ValType::I32]);
    assert!(map_get.doc.contains("-1 if absent"));
    let next = import("commute", "map_next_key").unwrap();
    assert!(next.doc.contains("after_len -1"));
    assert_eq!(import("ic0", "time").unwrap().results, &[ValType::I64]);
}

#[test]
fn exports_round_trip() {
    for mode in Mode::ALL {
        let name = export::method(mode, "m");
        let (kind, method) = export::parse(&name).unwrap();
        match mode {
            Mode::Init => assert_eq!((kind, method), (Kind::Init, "")),
            Mode::Query => assert_eq!((kind, method), (Kind::Query, "m")),
            _ => assert_eq!((kind, method), (Kind::Update, "m")),
        }
    }
    assert_eq!(export::parse("canister_heartbeat"), None);
}

/// The section of `docs/guest-abi.md` under the heading `heading`, up to the next heading
/// of the same or a higher level.
fn doc_section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let level = heading.split(' ').next().unwrap_or("");
    let body = doc
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/guest-abi.md has no `{heading}`"));
    let mut end = body.len();
    for (i, _) in body.match_indices('\n') {
        let next = &body[i + 1..];
        let hashes = next.len() - next.trim_start_matches('#').len();
        if hashes > 0 && hashes <= level.len() && next[hashes..].starts_with(' ') {
            end = i;
            break;
        }
    }
    &body[..end]
}

/// The rows of the first table in `section` after its header and separator lines, each
/// split into trimmed cells.
fn table_rows(section: &str) -> Vec<Vec<&str>> {
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect()
}

/// Reads the user documentation of the ABI, `docs/guest-abi.md`, and checks its import
/// tables (name, signature, class) and its mode table against [`IMPORTS`] and
/// [`Class::allowed_in`], so the page and the code cannot drift.
#[test]
fn table_matches_user_documentation() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/guest-abi.md");
    let doc = std::fs::read_to_string(path).expect("docs/guest-abi.md is in the repository");
    for module in [Module::Ic0, Module::Commute] {
        let section = doc_section(&doc, &format!("### Module `{module}`"));
        let rows = table_rows(section);
        let names: Vec<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
        let table: Vec<&str> = IMPORTS
            .iter()
            .filter(|i| i.module == module)
            .map(|i| i.name)
            .collect();
        assert_eq!(names, table, "the imports of `{module}`, in order");
        for row in &rows {
            let name = row[0].trim_matches('`');
            let sig = row[1].trim_matches('`');
            let (params, result) = match sig.split_once(" -> ") {
                Some((p, r)) => (p, Some(r)),
                None => (sig, None),
            };
            let want_params: Vec<(String, ValType)> = params
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once(':') {
                    Some((n, t)) => (n.trim().to_owned(), parse_ty(t.trim())),
                    None => (p.to_owned(), ValType::I32),
                })
                .collect();
            let want_result: Vec<ValType> = result.map(parse_ty).into_iter().collect();
            let got = import(module.as_str(), name).unwrap();
            let got_params: Vec<(String, ValType)> = got
                .params
                .iter()
                .map(|p| (p.name.to_owned(), p.ty))
                .collect();
            assert_eq!(got_params, want_params, "parameters of {module}.{name}");
            assert_eq!(
                got.results,
                want_result.as_slice(),
                "result of {module}.{name}"
            );
            assert_eq!(
                format!("{:?}", got.class).to_lowercase(),
                row[2],
                "class of {module}.{name}"
            );
        }
    }

    let section = doc_section(&doc, "## Which mode may use which import");
    let rows = table_rows(section);
    let header: Vec<&str> = section
        .lines()
        .find(|l| l.starts_with('|'))
        .unwrap()
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let modes = [
        Mode::Init,
        Mode::Update,
        Mode::Oneway,
        Mode::Query,
        Mode::PureUpdate,
    ];
    assert_eq!(header[1..], modes.map(Mode::as_str));
    let classes = [
        Class::Context,
        Class::Arg,
        Class::Reply,
        Class::Read,
        Class::Write,
        Class::Call,
        Class::Diagnostics,
    ];
    assert_eq!(rows.len(), classes.len());
    for (row, class) in rows.iter().zip(classes) {
        assert_eq!(row[0], format!("{class:?}").to_lowercase());
        for (cell, mode) in row[1..].iter().zip(modes) {
            let want = if class.allowed_in(mode) { "yes" } else { "no" };
            assert_eq!(*cell, want, "{class:?} in {mode}");
        }
    }
}

fn parse_ty(t: &str) -> ValType {
    match t {
        "i32" => ValType::I32,
        "i64" => ValType::I64,
        other => panic!("unknown type {other} in docs/guest-abi.md"),
    }
}
