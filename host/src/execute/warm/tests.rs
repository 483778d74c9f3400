//! Warm instances: a call on a reused instance starts from the module's initial state
//! (invariant (A)), and gives exactly what the same call on a fresh instance gives.

use std::sync::OnceLock;

use commute_abi::Mode;
use quickcheck::{Arbitrary, Gen, QuickCheck};

use super::super::model::Model;
use super::super::{Call, ChildCalls, Compiled, Engine, Execution, Limits, Outcome, Refused};
use super::{Image, WARM_MAX};

const SCRIBBLER: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/guests/warm_scribbler.wat"
));

struct NoChildren;

impl ChildCalls for NoChildren {
    fn validate(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, Refused> {
        Err(Refused::new(1, "none"))
    }
}

/// The methods of `warm_scribbler.wat`, and their modes.
const METHODS: [(Mode, &str); 5] = [
    (Mode::Update, "scribble"),
    (Mode::Update, "scribble_and_trap"),
    (Mode::Update, "grow"),
    (Mode::Update, "bump"),
    (Mode::Query, "look"),
];

fn run(engine: &Engine, compiled: &Compiled, (mode, method): (Mode, &str)) -> Execution {
    let export = commute_abi::export::method(mode, method);
    let call = Call {
        canister: "warm",
        self_principal: b"warm",
        method,
        export: &export,
        mode,
        caller: b"ann",
        arg: b"",
        time: 1,
    };
    (compiled.execute(engine, &call, &Model::default(), &NoChildren)).unwrap()
}

/// An engine of its own, so no other test's calls take or warm its instances meanwhile,
/// and the scribbler compiled on it.
fn scribbler() -> (Engine, Compiled) {
    let engine = Engine::new(Limits::default()).unwrap();
    let compiled = engine.compile(&wat::parse_str(SCRIBBLER).unwrap()).unwrap();
    assert!(compiled.warmth.is_some(), "the scribbler can be kept warm");
    (engine, compiled)
}

/// What `look` replies on a fresh instance.
fn initial() -> Vec<u8> {
    [
        &b"init"[..],
        &0u32.to_le_bytes(),
        &7i64.to_le_bytes(),
        &65536i32.to_le_bytes(),
        &5i32.to_le_bytes(),
        &2i32.to_le_bytes(),
        &(1 + 16 * 2i32).to_le_bytes(),
    ]
    .concat()
}

/// Invariant (A): after a call that overwrote its data segment, memory near the end of
/// its initial memory and each mutable global, then returned, trapped or grew its
/// memory, the next call on the same thread sees the initial values only; and the
/// instance was reused (one warm instance, not one a call).
#[test]
fn a_warm_instance_starts_from_the_initial_state() {
    let (engine, scribbler) = scribbler();
    let look = || run(&engine, &scribbler, METHODS[4]).outcome;
    assert_eq!(look(), Outcome::Replied(initial()));
    for round in 0..20 {
        let method = METHODS[round % 4];
        let ran = run(&engine, &scribbler, method);
        assert_eq!(
            ran.outcome.is_trapped(),
            method.1 == "scribble_and_trap",
            "{method:?}"
        );
        assert_eq!(look(), Outcome::Replied(initial()), "after {method:?}");
        assert_eq!(engine.warm_instances(), 1, "after {method:?}");
    }
}

/// Invariant (C): an engine keeps at most `WARM_MAX` instances warm; calls beyond them
/// run on fresh instances, with the same results.
#[test]
fn warm_instances_are_capped_per_engine() {
    let engine = Engine::new(Limits::default()).unwrap();
    let wasm = wat::parse_str(SCRIBBLER).unwrap();
    let modules: Vec<Compiled> = (0..WARM_MAX + 3)
        .map(|_| engine.compile(&wasm).unwrap())
        .collect();
    for module in &modules {
        assert_eq!(
            run(&engine, module, METHODS[4]).outcome,
            Outcome::Replied(initial())
        );
    }
    assert_eq!(engine.warm_instances(), WARM_MAX);
    drop(modules);
    assert_eq!(
        engine.warm_instances(),
        0,
        "dropping a module drops its warm instances"
    );
}

/// A sequence of calls of the scribbler, by index into [`METHODS`].
#[derive(Clone, Debug)]
struct Calls(Vec<usize>);

impl Arbitrary for Calls {
    fn arbitrary(g: &mut Gen) -> Calls {
        let n = usize::arbitrary(g) % 24;
        Calls(
            (0..n)
                .map(|_| usize::arbitrary(g) % METHODS.len())
                .collect(),
        )
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Calls>> {
        Box::new(self.0.shrink().map(Calls))
    }
}

/// The law: any sequence of calls on a warm module gives, call by call, the outcome, the
/// writes, the children and the fuel that each call gives on a fresh instance.
#[test]
fn prop_warm_equals_fresh() {
    static MODULES: OnceLock<(Engine, Compiled, Compiled)> = OnceLock::new();
    fn prop(calls: Calls) -> bool {
        let (engine, warm, fresh) = MODULES.get_or_init(|| {
            let (engine, warm) = scribbler();
            let mut fresh = warm.clone();
            fresh.warmth = None;
            (engine, warm, fresh)
        });
        (calls.0.iter()).all(|&i| run(engine, warm, METHODS[i]) == run(engine, fresh, METHODS[i]))
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Calls) -> bool);
}

/// Bytes with long runs of zeros, as a memory image has, from `(length, fill)` pieces.
fn pieces(parts: &[(u16, u8)]) -> Vec<u8> {
    (parts.iter())
        .flat_map(|&(len, fill)| std::iter::repeat_n(fill % 3, usize::from(len % 700)))
        .collect()
}

/// The law of `Image`: whatever a memory of the image's size holds, a restore leaves the
/// image's bytes; of another size, it writes nothing and says so.
#[test]
fn prop_an_image_restores_any_memory_of_its_size() {
    fn prop(image: Vec<(u16, u8)>, scribble: Vec<u8>) -> bool {
        let bytes = pieces(&image);
        let image = Image::new(&bytes);
        let mut memory: Vec<u8> = (0..bytes.len())
            .map(|i| {
                scribble
                    .get(i % scribble.len().max(1))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        let mut longer = memory.clone();
        longer.push(1);
        let before = longer.clone();
        image.restore(&mut memory)
            && memory == bytes
            && !image.restore(&mut longer)
            && longer == before
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<(u16, u8)>, Vec<u8>) -> bool);
}

/// The example canisters, built from Rust with `commute-cdk`, are kept warm: a toolchain
/// that began emitting an instruction a reset cannot undo would otherwise only show as
/// slower calls.
#[test]
fn the_rust_examples_are_kept_warm() {
    let engine = Engine::new(Limits::default()).unwrap();
    for example in commute_examples::ALL {
        let compiled = engine.compile(example.wasm).unwrap();
        assert!(compiled.warmth.is_some(), "{}", example.name);
    }
}
