//! Input nested up to the limit parses, types and encodes on a thread of
//! `PARSER_STACK_BYTES`; one level more is a one-line error, never a stack overflow.

use commute_did::{ArgError, Did, MAX_DID_LEVELS, MAX_NESTING, PARSER_STACK_BYTES};

/// Runs `f` on a thread with exactly the stack the limit is sized for.
fn on_parser_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(PARSER_STACK_BYTES)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic")
}

/// One shape of nesting: its type and a value of it, each `n` levels deep.
struct Shape {
    name: &'static str,
    ty: fn(usize) -> String,
    value: fn(usize) -> String,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "opt",
        ty: |n| format!("{}null", "opt ".repeat(n)),
        value: |n| format!("{}null", "opt ".repeat(n)),
    },
    Shape {
        name: "vec",
        ty: |n| format!("{}nat", "vec ".repeat(n)),
        value: |n| format!("{}1{}", "vec { ".repeat(n), " }".repeat(n)),
    },
    Shape {
        name: "record",
        ty: |n| format!("{}nat{}", "record { a : ".repeat(n), " }".repeat(n)),
        value: |n| format!("{}1{}", "record { a = ".repeat(n), " }".repeat(n)),
    },
];

/// A service whose `f` takes (and `init` takes) one argument of type `t`, `n` deep.
fn did(shape: &Shape, n: usize) -> String {
    format!(
        "type t = {};\nservice : (t) -> {{ f : (t) -> (); }}",
        (shape.ty)(n)
    )
}

#[test]
fn at_the_limit_every_shape_parses_types_and_encodes() {
    for shape in SHAPES {
        let (name, src, arg) = (
            shape.name,
            did(shape, MAX_NESTING - 1),
            // The argument list's own parentheses are one level.
            format!("({})", (shape.value)(MAX_NESTING - 1)),
        );
        on_parser_stack(move || {
            let did = Did::parse("deep.did", &src).unwrap_or_else(|e| panic!("{name}: {e}"));
            let i = did.interface();
            let call = i
                .decode_text("f", &arg)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let init = i
                .encode_init(Some(&arg))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // The binary form of the same value decodes too.
            i.decode_binary("f", &init)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!call.bytes.is_empty());
        });
    }
}

#[test]
fn past_the_limit_each_input_is_one_line_naming_it() {
    for shape in SHAPES {
        let name = shape.name;
        let deep_did = did(shape, MAX_NESTING + 1);
        let e = on_parser_stack(move || Did::parse("deep.did", &deep_did).unwrap_err());
        let e = e.to_string();
        assert!(e.starts_with("deep.did:1:"), "{name}: {e}");
        assert!(
            e.contains(&format!("more than {MAX_NESTING} levels")),
            "{name}: {e}"
        );

        let (src, arg) = (did(shape, 3), format!("({})", (shape.value)(MAX_NESTING)));
        let (call, init) = on_parser_stack(move || {
            let did = Did::parse("t.did", &src).unwrap();
            let i = did.interface();
            (
                i.decode_text("f", &arg).unwrap_err(),
                i.encode_init(Some(&arg)).unwrap_err(),
            )
        });
        for e in [call, init] {
            assert!(matches!(e, ArgError::Nesting { .. }), "{name}: {e}");
            let e = e.to_string();
            assert!(
                e.contains(&format!("more than {MAX_NESTING} levels")),
                "{name}: {e}"
            );
            assert!(!e.contains('\n'));
        }
    }
}

/// What the issue sent: 100,000 `opt` in a `.did`, and 8,000 `vec {` as an argument.
#[test]
fn the_reported_inputs_are_refused_not_fatal() {
    let did = format!("type t = {}null;\nservice : {{}}", "opt ".repeat(100_000));
    let e = on_parser_stack(move || Did::parse("deep.did", &did).unwrap_err());
    assert!(e.to_string().contains("levels deep"), "{e}");
    let arg = format!(
        "(principal \"2vxsx-fae\", {}{})",
        "vec {".repeat(8000),
        "}".repeat(8000)
    );
    let src = "service : { log : (principal, vec nat) -> (); }".to_string();
    let e = on_parser_stack(move || {
        Did::parse("l.did", &src)
            .unwrap()
            .interface()
            .decode_text("log", &arg)
            .unwrap_err()
    });
    assert!(matches!(e, ArgError::Nesting { .. }), "{e}");
}

/// `n` named types in a chain, each naming the next: the count is `2n + 4` levels.
fn chain(n: usize) -> String {
    let mut src: String = (0..n)
        .map(|i| format!("type t{i} = opt t{};\n", i + 1))
        .collect();
    src.push_str(&format!(
        "type t{n} = nat;\nservice : {{ f : (t0) -> (); }}"
    ));
    src
}

/// A chain of named types nests no text, yet the type checker recurses along it: at the
/// file-wide limit it checks, one past it is refused (invariant D of the count).
#[test]
fn a_chain_of_named_types_is_bounded_as_a_whole() {
    let at = chain((MAX_DID_LEVELS - 4) / 2);
    on_parser_stack(move || Did::parse("chain.did", &at).map(|_| ())).expect("at the limit");
    let past = chain((MAX_DID_LEVELS - 4) / 2 + 1);
    let e = on_parser_stack(move || Did::parse("chain.did", &past).unwrap_err()).to_string();
    assert!(
        e.contains(&format!("more than {MAX_DID_LEVELS} levels")),
        "{e}"
    );
    assert!(!e.contains('\n'));
}
