use super::*;
use candid_parser::syntax::IDLProg;
use quickcheck::{quickcheck, Arbitrary, Gen, TestResult};

const LEDGER: &str = include_str!("../../../tests/fixtures/ledger.did");
/// Internet Identity's archive `.did`, `write_entry` tagged `pure_update key(0)`.
const II_ARCHIVE: &str = include_str!("../../../tests/fixtures/ii_archive.did");
/// The ICRC-1 ledger's `.did`, as published.
const ICRC1_LEDGER: &str = include_str!("../../../tests/fixtures/icrc1_ledger.did");

/// `file:line:col: message` of the error `src` gives, with `file` = `t.did`.
fn error(src: &str) -> String {
    Did::parse("t.did", src).unwrap_err().to_string()
}

/// Asserts `src` fails at the position of the `nth` occurrence of `marker` (1-based line
/// and column computed independently), with a message containing `needle`.
fn fails_at(src: &str, marker: &str, nth: usize, needle: &str) {
    let offset = src.match_indices(marker).nth(nth).expect("marker").0;
    let line = src[..offset].matches('\n').count() + 1;
    let col = offset - src[..offset].rfind('\n').map_or(0, |n| n + 1) + 1;
    let got = error(src);
    let want = format!("t.did:{line}:{col}: ");
    assert!(got.starts_with(&want), "want {want}..., got {got}");
    assert!(got.contains(needle), "want `{needle}` in {got}");
    assert!(!got.contains('\n'));
}

#[test]
fn unknown_key_argument() {
    fails_at(
        "service : {\n  f : (a : nat) -> () pure_update key(b);\n}",
        "b)",
        0,
        "unknown key argument `b`",
    );
}

#[test]
fn key_index_out_of_range() {
    fails_at(
        "service : {\n  f : (nat) -> () pure_update key(1);\n}",
        "1)",
        0,
        "out of range",
    );
}

#[test]
fn same_argument_twice_by_name_and_position() {
    fails_at(
        "service : {\n  f : (a : nat) -> () pure_update key(a, 0);\n}",
        "0)",
        0,
        "named twice",
    );
    fails_at(
        "service : {\n  f : (a : nat) -> () pure_update key(a, a);\n}",
        "a)",
        0,
        "named twice",
    );
}

#[test]
fn empty_key_list() {
    fails_at(
        "service : {\n  f : (a : nat) -> () pure_update key();\n}",
        "key",
        0,
        "empty `key()`",
    );
}

#[test]
fn key_without_pure_update() {
    fails_at(
        "service : {\n  f : (a : nat) -> () key(a);\n}",
        "key",
        0,
        "without `pure_update`",
    );
    fails_at(
        "service : {\n  f : (a : nat) -> () query key(a);\n}",
        "key",
        0,
        "without `pure_update`",
    );
}

#[test]
fn pure_update_next_to_another_mode() {
    for mode in ["query", "composite_query", "oneway"] {
        let src = format!("service : {{\n  f : () -> () pure_update {mode};\n}}");
        fails_at(&src, mode, 0, &format!("cannot be combined with `{mode}`"));
        let src = format!("service : {{\n  f : () -> () {mode} pure_update;\n}}");
        fails_at(
            &src,
            "pure_update",
            0,
            &format!("cannot be combined with `{mode}`"),
        );
    }
}

#[test]
fn pure_update_must_return_unit() {
    fails_at(
        "service : {\n  f : () -> (nat) pure_update;\n}",
        "pure_update",
        0,
        "must return `()`",
    );
    // In the comment form: at the comment.
    fails_at(
        "service : {\n  // @pure_update\n  f : () -> (nat) oneway;\n}",
        "//",
        0,
        "must return `()`",
    );
    fails_at(
        "service : {\n  // @pure_update\n  f : () -> (nat);\n}",
        "//",
        0,
        "must return `()`",
    );
}

#[test]
fn comment_form_misplaced_or_on_a_query() {
    fails_at(
        "service : {\n  // @pure_update\n\n  f : () -> () oneway;\n}",
        "//",
        0,
        "directly above",
    );
    fails_at(
        "// @pure_update\ntype t = nat;\nservice : {}",
        "//",
        0,
        "directly above",
    );
    fails_at(
        "service : {\n  // @pure_update\n  f : () -> () query;\n}",
        "//",
        0,
        "`query`",
    );
    fails_at(
        "service : {\n  // @pure_update\n  f : () -> ();\n}",
        "//",
        0,
        "must be `oneway`",
    );
    fails_at(
        "service : {\n  // @pure_update key(\n  f : () -> () oneway;\n}",
        "\n  f",
        0,
        "malformed",
    );
}

#[test]
fn pure_update_outside_the_main_service() {
    fails_at(
        "type t = func () -> () pure_update;\nservice : {}",
        "pure_update",
        0,
        "not to `func` types",
    );
    fails_at(
        "type s = service { m : () -> () pure_update };\nservice : { f : (s) -> () }",
        "pure_update",
        0,
        "not a method of the canister's service",
    );
}

#[test]
fn candid_syntax_errors_keep_their_position() {
    fails_at(
        "service : {\n  f : (nat) -> () pure_update\n  g : () -> ();\n}",
        "g :",
        0,
        "unexpected `g`",
    );
    fails_at(
        "service : {\n  f : (nat) -> () pure_update key(0);\n  $\n}",
        "$",
        0,
        "Unknown token",
    );
}

#[test]
fn candid_type_errors_are_located() {
    let src =
        "type a = record { x : nat };\nservice : {\n  f : (a, b) -> () pure_update key(0);\n}";
    fails_at(src, "b)", 0, "Unbound type identifier b");
    fails_at(
        "type a = nat;\ntype a = int;\nservice : {}",
        "a =",
        1,
        "duplicate binding for a",
    );
    fails_at("type a = b;\ntype b = a;\nservice : {}", "a =", 0, "cyclic");
    fails_at(
        "service : {\n  f : () -> (nat) oneway;\n}",
        "oneway",
        0,
        "non-unit return",
    );
    fails_at(
        "type v = variant { Unknown; B : Missing };\nservice : {}",
        "Missing",
        0,
        "Unbound",
    );
}

#[test]
fn imports_and_missing_service_are_refused() {
    fails_at(
        "import \"other.did\";\nservice : {}",
        "import",
        0,
        "imports are not supported",
    );
    assert!(error("type t = nat;").contains("no `service` declared"));
}

#[test]
fn ledger_is_accepted_and_emits_standard_candid() {
    let did = Did::parse("ledger.did", LEDGER).unwrap();
    let i = did.interface();
    let mode = |m: &str| i.method(m).unwrap().mode;
    assert_eq!(mode("icrc1_transfer"), Mode::Update);
    assert_eq!(mode("icrc1_total supply"), Mode::Query);
    assert_eq!(mode("account_summary"), Mode::CompositeQuery);
    assert_eq!(mode("heartbeat"), Mode::Oneway);
    assert_eq!(mode("pure_update"), Mode::Update);
    assert_eq!(i.method("record_transfer").unwrap().keys, vec![0, 1]);
    assert_eq!(i.method("log event").unwrap().keys, vec![0]);
    assert_eq!(i.method("note_memo").unwrap().keys, vec![0]);
    assert_eq!(mode("bump_metric"), Mode::PureUpdate);
    assert_eq!(i.init_args().len(), 1);
    assert_eq!(i.init_args()[0].name.as_deref(), Some("init"));
    let stock: IDLProg = did.standard().parse().unwrap();
    candid_parser::check_prog(&mut TypeEnv::new(), &stock).unwrap();
    assert_eq!(
        Did::parse("out.did", did.standard()).unwrap().standard(),
        did.standard()
    );
}

/// A class service (`service : (Init) -> ...`), its methods written in place or named by
/// a type: tags and keys are read, the init arguments kept, and the standard form has the
/// tag comment above a `oneway` method, the class intact, and reads back to itself.
#[test]
fn class_services_take_tags_in_both_shapes() {
    let methods = "{\n  log : (user : principal, event : text) -> () pure_update key(user);\n  \
                   count : (principal) -> (nat64) query;\n}";
    for src in [
        format!("type Init = record {{ owner : principal }}\nservice : (init : Init) -> {methods}"),
        format!("type Init = record {{ owner : principal }};\ntype S = service {methods};\nservice : (init : Init) -> S"),
    ] {
        let did = Did::parse("t.did", &src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        let i = did.interface();
        let log = i.method("log").unwrap();
        assert_eq!((log.mode, log.keys.clone()), (Mode::PureUpdate, vec![0]));
        assert_eq!(i.method("count").unwrap().mode, Mode::Query);
        assert_eq!(i.init_args().len(), 1);
        assert_eq!(i.init_args()[0].name.as_deref(), Some("init"));
        let standard = did.standard();
        assert!(
            standard.contains("  // @pure_update key(user)\n  log : (user : principal, event : text) -> () oneway;"),
            "{standard}"
        );
        assert!(standard.contains("service : (init : Init) -> "), "{standard}");
        let stock: IDLProg = standard.parse().unwrap();
        candid_parser::check_prog(&mut TypeEnv::new(), &stock).unwrap();
        let again = Did::parse("out.did", standard).unwrap();
        assert_eq!(again.standard(), standard);
        assert_eq!(again.interface().method("log").unwrap().keys, vec![0]);
    }
}

/// Internet Identity's archive: a class service whose last type definition has no `;`.
#[test]
fn ii_archive_tagged_is_accepted() {
    let did = Did::parse("ii_archive.did", II_ARCHIVE).unwrap();
    let i = did.interface();
    let write = i.method("write_entry").unwrap();
    assert_eq!(
        (write.mode, write.keys.clone()),
        (Mode::PureUpdate, vec![0])
    );
    assert_eq!(i.method("status").unwrap().mode, Mode::Update);
    assert_eq!(i.method("get_entries").unwrap().mode, Mode::Query);
    assert_eq!(i.init_args().len(), 1);
    assert!(did.standard().contains(
        "  // @pure_update key(0)\n  write_entry : (Anchor, Timestamp, blob) -> () oneway;"
    ));
    assert_eq!(
        Did::parse("out.did", did.standard()).unwrap().standard(),
        did.standard()
    );
    // The same call's key, whichever form its anchor is written in.
    let a = i.decode_text("write_entry", "(7, 1, blob \"x\")").unwrap();
    let b = i
        .decode_text("write_entry", "(7 : nat64, 2, blob \"y\")")
        .unwrap();
    assert_eq!(a.keys, b.keys);
}

/// The ICRC-1 ledger: every update replies, so no method can be a pure update; the file
/// is accepted as it is, its init argument named.
#[test]
fn icrc1_ledger_is_accepted_untagged() {
    let did = Did::parse("icrc1_ledger.did", ICRC1_LEDGER).unwrap();
    let i = did.interface();
    assert!(i.methods().all(|m| m.mode != Mode::PureUpdate));
    assert_eq!(i.method("icrc1_transfer").unwrap().mode, Mode::Update);
    assert_eq!(i.init_args()[0].name.as_deref(), Some("ledger_arg"));
    assert_eq!(i.methods().count(), 24);
    assert!(!did.standard().contains("@pure_update"));
}

/// Found by `cargo fuzz`: candid_parser prints a NUL in a quoted name as `\0`, which it
/// cannot read back. Refused at the name instead of printing an unreadable file.
#[test]
fn fuzz_regression_nul_in_quoted_name() {
    fails_at("service : {\n  \"a\u{0}b\" : () -> ();\n}", "\"a", 0, "NUL");
    // The escapes `\00` and `\u{0}` spell a NUL too.
    fails_at(
        "service : {\n  f : (\"x\\00\" : nat) -> ();\n}",
        "\"x",
        0,
        "NUL",
    );
    fails_at("service : {\n  \"y\\u{0}\" : () -> ();\n}", "\"y", 0, "NUL");
}

// ---- Property (a): generated services round-trip through the standard form. ----

/// A generated argument type, from a small set that covers names, records, opt and vec.
#[derive(Debug, Clone)]
struct GenType(&'static str);

impl Arbitrary for GenType {
    fn arbitrary(g: &mut Gen) -> Self {
        const TYPES: [&str; 9] = [
            "nat",
            "text",
            "principal",
            "Acct",
            "opt nat64",
            "vec blob",
            "record { a : nat; \"b c\" : opt Acct }",
            "variant { X; Y : text }",
            "pure_update",
        ];
        GenType(g.choose(&TYPES).copied().unwrap_or("nat"))
    }
}

#[derive(Debug, Clone)]
struct GenMethod {
    args: Vec<(bool, GenType)>,
    /// 0 query, 1 update, 2 oneway, 3.. pure.
    mode: u8,
    keys: Vec<(u8, bool)>,
}

impl Arbitrary for GenMethod {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = usize::arbitrary(g) % 4;
        GenMethod {
            args: (0..n)
                .map(|_| (bool::arbitrary(g), GenType::arbitrary(g)))
                .collect(),
            mode: u8::arbitrary(g) % 6,
            keys: Vec::arbitrary(g).into_iter().take(3).collect(),
        }
    }
}

#[derive(Debug, Clone)]
struct GenService(Vec<GenMethod>, bool);

impl Arbitrary for GenService {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = 1 + usize::arbitrary(g) % 6;
        GenService(
            (0..n).map(|_| GenMethod::arbitrary(g)).collect(),
            bool::arbitrary(g),
        )
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let flag = self.1;
        Box::new(
            self.0
                .shrink()
                .filter(|m| !m.is_empty())
                .map(move |m| GenService(m, flag)),
        )
    }
}

impl GenService {
    /// The `.did` text, and for each method the expected (name, mode, keys).
    fn render(&self) -> (String, Vec<(String, Mode, Vec<usize>)>) {
        let mut src = String::from("type Acct = record { owner : principal; sub : opt blob };\n");
        src.push_str("type pure_update = nat;\n");
        src.push_str(if self.1 {
            "service : (nat) -> {\n"
        } else {
            "service : {\n"
        });
        let mut expected = Vec::new();
        for (i, m) in self.0.iter().enumerate() {
            let name = if i % 3 == 2 {
                format!("\"m {i}\"")
            } else {
                format!("m{i}")
            };
            let args: Vec<String> = m
                .args
                .iter()
                .enumerate()
                .map(|(j, (named, t))| {
                    if *named {
                        format!("a{j} : {}", t.0)
                    } else {
                        t.0.to_string()
                    }
                })
                .collect();
            let (mode, tail, keys) = match m.mode {
                0 => (Mode::Query, "(nat) query".to_string(), vec![]),
                1 => (Mode::Update, "(text)".to_string(), vec![]),
                2 => (Mode::Oneway, "() oneway".to_string(), vec![]),
                _ => {
                    let mut keys = Vec::new();
                    let mut refs = Vec::new();
                    for (k, by_name) in &m.keys {
                        if m.args.is_empty() {
                            break;
                        }
                        let p = *k as usize % m.args.len();
                        if keys.contains(&p) {
                            continue;
                        }
                        keys.push(p);
                        refs.push(if *by_name && m.args[p].0 {
                            format!("a{p}")
                        } else {
                            p.to_string()
                        });
                    }
                    let clause = if refs.is_empty() {
                        String::new()
                    } else {
                        format!(" key({})", refs.join(", "))
                    };
                    (Mode::PureUpdate, format!("() pure_update{clause}"), keys)
                }
            };
            src.push_str(&format!("  {name} : ({}) -> {tail};\n", args.join(", ")));
            expected.push((name.trim_matches('"').to_string(), mode, keys));
        }
        src.push_str("}\n");
        (src, expected)
    }
}

quickcheck! {
    /// did check ∘ stock parser = the generated methods, argument types and modes (pure as
    /// oneway); and did check ∘ did check = did check.
    fn prop_standard_form_round_trips(service: GenService) -> bool {
        let (src, expected) = service.render();
        let did = Did::parse("gen.did", &src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        let out = did.standard();
        // Stock candid_parser reads the output, with the same methods and types.
        let stock: IDLProg = out.parse().unwrap_or_else(|e| panic!("{e}\n{out}"));
        let mut env = TypeEnv::new();
        let actor = candid_parser::check_prog(&mut env, &stock).unwrap().unwrap();
        let serv = match actor.as_ref() {
            candid::types::TypeInner::Class(_, s) => s.clone(),
            _ => actor.clone(),
        };
        let stock_methods = env.as_service(&serv).unwrap();
        assert_eq!(stock_methods.len(), expected.len());
        for (name, mode, keys) in &expected {
            let ours = did.interface().method(name).unwrap();
            assert_eq!((&ours.mode, &ours.keys), (mode, keys), "{name} in\n{src}");
            let (_, ty) = stock_methods.iter().find(|(n, _)| n == name).unwrap();
            let f = env.as_func(ty).unwrap();
            let stock_mode = match f.modes.first() {
                None => Mode::Update,
                Some(FuncMode::Query) => Mode::Query,
                Some(FuncMode::CompositeQuery) => Mode::CompositeQuery,
                Some(FuncMode::Oneway) => Mode::Oneway,
            };
            let want = if *mode == Mode::PureUpdate { Mode::Oneway } else { *mode };
            assert_eq!(stock_mode, want, "{name}");
            let our_types: Vec<_> = ours.args.iter().map(|a| a.ty.clone()).collect();
            assert_eq!(f.args, our_types, "{name}");
        }
        // A fixed point, with the same interface.
        let again = Did::parse("out.did", out).unwrap();
        for (name, mode, keys) in &expected {
            let m = again.interface().method(name).unwrap();
            assert_eq!((&m.mode, &m.keys), (mode, keys));
        }
        again.standard() == out
    }

    /// Arbitrary text never panics the front end: an error or an accept, nothing else.
    fn prop_arbitrary_text_never_panics(src: String) -> bool {
        let _ = Did::parse("x.did", &src);
        true
    }

    /// Mutations of valid files never panic the front end.
    fn prop_mutated_files_never_panic(edits: Vec<(u16, u8, u8)>) -> TestResult {
        const PIECES: [&str; 16] = ["pure_update", "key(", ")", "(", "//", "// @pure_update\n",
            "\"", "/*", "*/", "{", "}", ";", "\n", "oneway", "key(0)", "é"];
        let mut src = LEDGER.to_string();
        for (at, what, len) in edits.iter().take(8) {
            let mut at = *at as usize % (src.len() + 1);
            while !src.is_char_boundary(at) { at -= 1; }
            let mut end = (at + *len as usize % 12).min(src.len());
            while !src.is_char_boundary(end) { end -= 1; }
            match what % 3 {
                0 => src.replace_range(at..end.max(at), ""),
                1 => src.insert_str(at, PIECES[*what as usize % PIECES.len()]),
                _ => {
                    let piece = src[at..end.max(at)].to_string();
                    src.insert_str(at, &piece);
                }
            }
        }
        let _ = Did::parse("m.did", &src);
        TestResult::passed()
    }
}

/// A method's comment above its `// @pure_update` line stays in the standard form:
/// derived `.did`s (`export_candid!()`) carry the Rust doc comment there.
#[test]
fn a_comment_above_the_tag_is_kept() {
    let src = "service : {\n  // Logs.\n  // @pure_update key(user)\n  log : (user : principal) -> () oneway;\n}\n";
    let did = Did::parse("f.did", src).unwrap();
    assert_eq!(did.standard(), src);
    let annotated =
        "service : {\n  // Logs.\n  log : (user : principal) -> () pure_update key(user);\n}\n";
    assert_eq!(Did::parse("f.did", annotated).unwrap().standard(), src);
}
