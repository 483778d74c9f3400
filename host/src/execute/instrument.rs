//! What a module is given before it is compiled, so that its instances can be kept warm
//! between calls (`warm.rs`): exports through which the host resets its state.
//!
//! An instance can start a call from the module's initial state without being
//! instantiated again only if everything a call can change can be put back from outside.
//! The host reaches an instance only through its exports; a Rust-built module exports its
//! memory but not its mutable globals (the shadow stack pointer among them). So a module
//! that can be reset gets one export for each mutable global it defines, and a marker
//! export; one that cannot is compiled as it came, and every call instantiates it afresh.
//!
//! # Invariants
//!
//! - (A) **Only resettable modules are marked.** A module gets the [`WARM`] marker only if
//!   a call can change nothing but its memory's bytes, its memory's size and its mutable
//!   globals: it has no start function (whose run at instantiation would be kept, with
//!   what it read, for later calls), and no instruction that changes a table or the
//!   state of a passive segment (`table.set`, `table.grow`, `table.fill`, `table.copy`,
//!   `table.init`, `elem.drop`, `data.drop`); and it uses only the wasm features of
//!   [`RESETTABLE`], whose instructions this list covers (GC objects, exceptions, threads
//!   and the like would need more than a reset). Any doubt (a section that does not
//!   parse, an import that is not a function) leaves the module unmarked.
//! - (B) **Every mutable global is exported** as [`GLOBAL`] followed by its index, when
//!   the module is marked.
//! - (C) **The names are the host's.** A module exporting any name that starts with
//!   [`PREFIX`] is refused, so a marker or a global export is always the host's own.
//! - (D) **Nothing else changes**: every section is copied byte for byte, except that
//!   the export section gets the exports of (B) and the marker at its end.

use std::borrow::Cow;

use wasm_encoder::{ExportKind, ExportSection, RawSection};
use wasmparser::{ExternalKind, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures};

use super::ExecuteError;

/// The start of every export name the host adds.
pub(super) const PREFIX: &str = "commute:";
/// The marker of a module whose instances can be reset (invariant (A)): its memory,
/// exported again under this name.
pub(super) const WARM: &str = "commute:warm";
/// The start of the export names of mutable globals (invariant (B)).
pub(super) const GLOBAL: &str = "commute:global:";

/// The wasm features a marked module may use (invariant (A)): those whose only
/// instance state beyond memory and globals is tables and passive segments, which
/// [`changes_more_than_memory`] looks for. What Rust builds for wasm32 uses no others.
const RESETTABLE: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST);

/// `wasm` as it is compiled: marked and with its mutable globals exported if its instances
/// can be reset, else as it came.
///
/// # Errors
///
/// [`ExecuteError::ReservedExport`] if the module exports a name starting with
/// [`PREFIX`]. A module that does not parse is returned as it came, for the compiler to
/// name what is wrong with it.
pub(super) fn instrument(wasm: &[u8]) -> Result<Cow<'_, [u8]>, ExecuteError> {
    match Scan::of(wasm) {
        Ok(scan) => {
            if let Some(export) = scan.reserved {
                return Err(ExecuteError::ReservedExport { export });
            }
            Ok(scan.rewrite(wasm).map_or(Cow::Borrowed(wasm), Cow::Owned))
        }
        Err(_) => Ok(Cow::Borrowed(wasm)),
    }
}

/// What [`instrument`] needs to know of a module, in one pass.
#[derive(Default)]
struct Scan {
    /// The first export whose name is reserved (invariant (C)).
    reserved: Option<String>,
    /// Whether the module's instances cannot be reset (invariant (A)).
    fresh_only: bool,
    /// The indices of the mutable globals the module defines.
    mutable_globals: Vec<u32>,
    /// The module's own exports, in order.
    exports: Vec<(String, ExportKind, u32)>,
}

impl Scan {
    fn of(wasm: &[u8]) -> Result<Scan, wasmparser::BinaryReaderError> {
        let mut scan = Scan::default();
        let mut imported_globals = 0;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        match import?.ty {
                            TypeRef::Func(_) => {}
                            TypeRef::Global(_) => {
                                imported_globals += 1;
                                scan.fresh_only = true;
                            }
                            _ => scan.fresh_only = true,
                        }
                    }
                }
                Payload::GlobalSection(globals) => {
                    for (i, global) in (imported_globals..).zip(globals) {
                        if global?.ty.mutable {
                            scan.mutable_globals.push(i);
                        }
                    }
                }
                Payload::ExportSection(exports) => {
                    for export in exports {
                        let export = export?;
                        if export.name.starts_with(PREFIX) && scan.reserved.is_none() {
                            scan.reserved = Some(export.name.to_owned());
                        }
                        let kind = match export.kind {
                            ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                            ExternalKind::Table => ExportKind::Table,
                            ExternalKind::Memory => ExportKind::Memory,
                            ExternalKind::Global => ExportKind::Global,
                            ExternalKind::Tag => ExportKind::Tag,
                        };
                        scan.exports
                            .push((export.name.to_owned(), kind, export.index));
                    }
                }
                Payload::StartSection { .. } => scan.fresh_only = true,
                Payload::CodeSectionEntry(body) if !scan.fresh_only => {
                    let mut ops = body.get_operators_reader()?;
                    while !ops.eof() {
                        if changes_more_than_memory(&ops.read()?) {
                            scan.fresh_only = true;
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(scan)
    }

    /// The module with the exports of invariants (B) and (A), or `None` if it is not to be
    /// marked.
    fn rewrite(&self, wasm: &[u8]) -> Option<Vec<u8>> {
        let memory = self
            .exports
            .iter()
            .find(|(_, kind, _)| *kind == ExportKind::Memory)?;
        if self.fresh_only {
            return None;
        }
        Validator::new_with_features(RESETTABLE)
            .validate_all(wasm)
            .ok()?;
        let mut exports = ExportSection::new();
        for (name, kind, index) in &self.exports {
            exports.export(name, *kind, *index);
        }
        for index in &self.mutable_globals {
            exports.export(&format!("{GLOBAL}{index}"), ExportKind::Global, *index);
        }
        exports.export(WARM, ExportKind::Memory, memory.2);
        let mut module = wasm_encoder::Module::new();
        for payload in Parser::new(0).parse_all(wasm) {
            // The version, the code section's entries (inside its range) and the end.
            let Some((id, range)) = payload.ok()?.as_section() else {
                continue;
            };
            if id == wasm_encoder::SectionId::Export as u8 {
                module.section(&exports);
            } else {
                module.section(&RawSection {
                    id,
                    data: &wasm[range],
                });
            }
        }
        Some(module.finish())
    }
}

/// Whether `op` can change an instance's state other than its memory and its globals.
fn changes_more_than_memory(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::TableSet { .. }
            | Operator::TableGrow { .. }
            | Operator::TableFill { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. }
            | Operator::ElemDrop { .. }
            | Operator::DataDrop { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The export names of `wasm`, in order.
    fn exports(wasm: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::ExportSection(section) = payload.unwrap() {
                names.extend(section.into_iter().map(|e| e.unwrap().name.to_owned()));
            }
        }
        names
    }

    /// Every section but the export section, with its id and bytes.
    fn other_sections(wasm: &[u8]) -> Vec<(u8, Vec<u8>)> {
        (Parser::new(0).parse_all(wasm))
            .filter_map(|payload| payload.unwrap().as_section())
            .filter(|(id, _)| *id != wasm_encoder::SectionId::Export as u8)
            .map(|(id, range)| (id, wasm[range].to_vec()))
            .collect()
    }

    fn module(body: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (@custom "candid:service" "service : {{}}") {body})"#
        ))
        .unwrap()
    }

    /// Invariants (A), (B) and (D): a resettable module gets its mutable globals and the
    /// marker exported, after its own exports; everything else stays byte for byte.
    #[test]
    fn a_resettable_module_exports_its_mutable_globals_and_the_marker() {
        let wasm = module(
            r#"(global (mut i32) (i32.const 1)) (global i64 (i64.const 2))
               (global (mut i64) (i64.const 3)) (func (export "canister_update f"))"#,
        );
        let marked = instrument(&wasm).unwrap();
        assert_eq!(
            exports(&marked),
            [
                "memory",
                "canister_update f",
                "commute:global:0",
                "commute:global:2",
                WARM
            ]
        );
        assert_eq!(other_sections(&marked), other_sections(&wasm));
        wasmparser::Validator::new().validate_all(&marked).unwrap();
    }

    /// Invariant (A): what a reset cannot put back leaves the module as it came.
    #[test]
    fn a_module_that_cannot_be_reset_is_left_as_it_came() {
        let cases = [
            "(func $s) (start $s)",
            "(table 1 funcref) (func (table.set 0 (i32.const 0) (ref.null func)))",
            "(table 1 funcref) (func (drop (table.grow 0 (ref.null func) (i32.const 1))))",
            "(table 1 funcref) (func (table.fill 0 (i32.const 0) (ref.null func) (i32.const 1)))",
            "(table 2 funcref) (func (table.copy (i32.const 0) (i32.const 1) (i32.const 1)))",
            "(table 1 funcref) (elem func $f) (func $f (table.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))",
            "(elem func $f) (func $f (elem.drop 0))",
            r#"(data "x") (func (data.drop 0))"#,
            // A feature whose state a reset would not know of (GC objects).
            "(type (struct (field (mut i32))))",
        ];
        for body in cases {
            let wasm = module(body);
            assert!(
                matches!(instrument(&wasm).unwrap(), Cow::Borrowed(same) if same == wasm),
                "{body}"
            );
        }
    }

    /// Invariant (C).
    #[test]
    fn reserved_export_names_are_refused() {
        let wasm = module(r#"(func (export "commute:warm"))"#);
        let err = instrument(&wasm).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wasm exports `commute:warm`; export names starting with `commute:` are reserved for the host"
        );
    }

    /// Bytes that do not parse are the compiler's to name.
    #[test]
    fn what_does_not_parse_is_left_as_it_came() {
        let wasm = b"\0asm\x01\0\0\0\x07\x05garbage".to_vec();
        assert!(matches!(instrument(&wasm).unwrap(), Cow::Borrowed(_)));
    }
}
