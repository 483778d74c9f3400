//! The compiled example canisters follow the ABI: their imports are rows of
//! `commute_abi::IMPORTS` with the same types, their exports implement every method of
//! their `.did`, and the `.did` travels in their `icp:public candid:service` section or,
//! derived, through their `.did` query.
//!
//! The ABI probe imports everything the SDK's `sys` module declares, so comparing it with
//! the table checks every guest-side declaration, as compiled to wasm.

use std::collections::{BTreeMap, BTreeSet};

use commute_abi::{export, ValType, IMPORTS};
use commute_examples::{Canister, ABI_PROBE, ALL};
use wasmparser::{ExternalKind, FuncType, Parser, Payload, TypeRef};

/// What a test needs of a wasm module.
#[derive(Default)]
struct Module {
    /// `(module, name)` → `(params, results)` of each function import.
    imports: BTreeMap<(String, String), (Vec<ValType>, Vec<ValType>)>,
    /// Every import that is not a function, as `module.name`.
    other_imports: Vec<String>,
    /// Exported function names.
    functions: BTreeSet<String>,
    /// Exported memory names.
    memories: BTreeSet<String>,
    /// Custom sections by name.
    custom: BTreeMap<String, Vec<u8>>,
}

fn val_type(t: wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        other => panic!("the ABI has no {other:?}"),
    }
}

fn parse(canister: &Canister) -> Module {
    let mut types: Vec<FuncType> = Vec::new();
    let mut module = Module::default();
    for payload in Parser::new(0).parse_all(canister.wasm) {
        match payload.unwrap_or_else(|e| panic!("{} is not valid wasm: {e}", canister.name)) {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.unwrap());
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    match import.ty {
                        TypeRef::Func(index) => {
                            let ty = &types[index as usize];
                            let params = ty.params().iter().copied().map(val_type).collect();
                            let results = ty.results().iter().copied().map(val_type).collect();
                            module.imports.insert(
                                (import.module.to_owned(), import.name.to_owned()),
                                (params, results),
                            );
                        }
                        _ => module
                            .other_imports
                            .push(format!("{}.{}", import.module, import.name)),
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.unwrap();
                    match export.kind {
                        ExternalKind::Func => module.functions.insert(export.name.to_owned()),
                        ExternalKind::Memory => module.memories.insert(export.name.to_owned()),
                        _ => false,
                    };
                }
            }
            Payload::CustomSection(reader) => {
                module
                    .custom
                    .insert(reader.name().to_owned(), reader.data().to_vec());
            }
            _ => {}
        }
    }
    module
}

/// The table's rows, in the form [`Module::imports`] has.
fn table() -> BTreeMap<(String, String), (Vec<ValType>, Vec<ValType>)> {
    IMPORTS
        .iter()
        .map(|i| {
            (
                (i.module.to_string(), i.name.to_owned()),
                (i.param_types().collect(), i.results.to_vec()),
            )
        })
        .collect()
}

#[test]
fn probe_imports_exactly_the_abi_table() {
    let probe = parse(&ABI_PROBE);
    assert!(probe.other_imports.is_empty(), "{:?}", probe.other_imports);
    assert_eq!(probe.imports, table());
}

#[test]
fn example_imports_are_rows_of_the_abi_table() {
    let table = table();
    for canister in ALL {
        let module = parse(&canister);
        assert!(
            module.other_imports.is_empty(),
            "{} imports non-functions: {:?}",
            canister.name,
            module.other_imports
        );
        for (key, ty) in &module.imports {
            let want = table.get(key).unwrap_or_else(|| {
                panic!(
                    "{} imports {}.{}, which the ABI lacks",
                    canister.name, key.0, key.1
                )
            });
            assert_eq!(
                ty, want,
                "{} imports {}.{} with the wrong type",
                canister.name, key.0, key.1
            );
        }
    }
}

/// Every guest exports its memory as `memory` (`docs/guest-abi.md`). That the exports implement the
/// `.did`'s methods is checked in `dids.rs`, with commute's own `.did` reader.
#[test]
fn memory_is_exported() {
    for canister in ALL.into_iter().chain([ABI_PROBE]) {
        let module = parse(&canister);
        assert!(
            module.memories.contains(export::MEMORY),
            "{} exports its memory",
            canister.name
        );
    }
}

#[test]
fn analytics_has_an_init() {
    let analytics = ALL.into_iter().find(|c| c.name == "analytics").unwrap();
    assert!(parse(&analytics).functions.contains(export::INIT));
}

/// A hand-written `.did` travels in the `icp:public candid:service` section; a derived one
/// (the audit's, `export_candid!()`) in no section but through the query that replies it.
#[test]
fn the_did_travels_in_the_section_or_the_query() {
    let query = export::method(commute_abi::Mode::Query, export::CANDID_QUERY);
    for canister in ALL.into_iter().chain([ABI_PROBE]) {
        let module = parse(&canister);
        let section = module.custom.get(export::CANDID_SECTION);
        if canister.name == "audit" {
            assert_eq!(section, None, "audit derives its .did");
            assert!(module.functions.contains(&query), "audit exports {query}");
            continue;
        }
        let section = section.unwrap_or_else(|| {
            panic!(
                "{} has no {} section",
                canister.name,
                export::CANDID_SECTION
            )
        });
        assert_eq!(
            std::str::from_utf8(section).unwrap(),
            canister.did,
            "{}",
            canister.name
        );
        assert!(!module.functions.contains(&query), "{}", canister.name);
    }
}

/// The CLI tests install the examples from these paths.
#[test]
fn wasm_and_did_paths_exist() {
    for canister in ALL.into_iter().chain([ABI_PROBE]) {
        assert!(
            std::path::Path::new(canister.wasm_path).is_file(),
            "{}",
            canister.wasm_path
        );
        assert!(
            std::path::Path::new(canister.did_path).is_file(),
            "{}",
            canister.did_path
        );
    }
}
