use crate::Did;
use crate::{ArgError, Mode};

fn did(src: &str) -> Did {
    Did::parse("t.did", src).unwrap()
}

const SRC: &str = r#"
type User = principal;
type Acct = record { owner : principal; sub : opt blob };
service : {
  log : (user : User, event : text) -> () pure_update key(user);
  tag : (principal, text) -> () pure_update key(0);
  move : (from : Acct, to : Acct, amount : nat64) -> () pure_update key(to, from);
  touch : (a : record { owner : principal; sub : opt blob }) -> () pure_update key(a);
  small : (n : nat8, o : opt text) -> () pure_update key(n);
  bump : (page : text) -> () pure_update;
  get : (nat64) -> (nat64, text) query;
}"#;

#[test]
fn modes_and_key_positions() {
    let d = did(SRC);
    let i = d.interface();
    assert_eq!(i.method("log").unwrap().keys, vec![0]);
    assert_eq!(i.method("move").unwrap().keys, vec![1, 0]);
    assert_eq!(i.method("bump").unwrap().keys, Vec::<usize>::new());
    assert_eq!(i.method("get").unwrap().mode, Mode::Query);
    assert_eq!(
        i.method("log").unwrap().args[0].name.as_deref(),
        Some("user")
    );
    assert_eq!(i.method("tag").unwrap().args[0].name, None);
}

#[test]
fn equal_values_of_equal_types_give_equal_keys_across_methods() {
    let d = did(SRC);
    let i = d.interface();
    let p = r#"principal "aaaaa-aa""#;
    let log = i.decode_text("log", &format!("({p}, \"x\")")).unwrap();
    let tag = i.decode_text("tag", &format!("({p}, \"y\")")).unwrap();
    assert_eq!(
        log.keys, tag.keys,
        "alias `User` and `principal` are one type"
    );
    let acct = format!("record {{ owner = {p}; sub = null }}");
    let mv = i
        .decode_text("move", &format!("({acct}, {acct}, 1)"))
        .unwrap();
    let touch = i.decode_text("touch", &format!("({acct})")).unwrap();
    assert_eq!(
        mv.keys[0], touch.keys[0],
        "named and inline records are one type"
    );
    assert_eq!(mv.keys[0], mv.keys[1]);
    let other = i
        .decode_text("log", r#"(principal "2vxsx-fae", "x")"#)
        .unwrap();
    assert_ne!(other.keys, log.keys);
}

#[test]
fn text_and_binary_forms_give_the_same_call() {
    let d = did(SRC);
    let i = d.interface();
    let text = i.decode_text("small", "(7, opt \"hi\")").unwrap();
    let bin = i
        .decode_binary(
            "small",
            &candid::encode_args((7u8, Some("hi".to_string()))).unwrap(),
        )
        .unwrap();
    assert_eq!(text.bytes, bin.bytes);
    assert_eq!(text.keys, bin.keys);
}

#[test]
fn omitted_trailing_opt_is_null() {
    let d = did(SRC);
    let args = d.interface().decode_text("small", "(7)").unwrap();
    assert_eq!(
        args.bytes,
        candid::encode_args((7u8, None::<String>)).unwrap()
    );
}

#[test]
fn binary_subtyping_is_normalized_to_declared_types() {
    let d = did("service : { f : (r : record { a : nat }) -> () pure_update key(r) }");
    #[derive(candid::CandidType)]
    struct Wide {
        a: candid::Nat,
        b: String,
    }
    #[derive(candid::CandidType)]
    struct Narrow {
        a: candid::Nat,
    }
    let wide = candid::encode_one(Wide {
        a: 1u8.into(),
        b: "extra".into(),
    })
    .unwrap();
    let narrow = candid::encode_one(Narrow { a: 1u8.into() }).unwrap();
    let got = d.interface().decode_binary("f", &wide).unwrap();
    assert_eq!(got.bytes, narrow);
    // Once the declared header is known (a canonical call passed), still normalized.
    d.interface().decode_binary("f", &narrow).unwrap();
    let again = d.interface().decode_binary("f", &wide).unwrap();
    assert_eq!(again, got);
}

/// Invariant A's fast path: once a method's canonical header is known, a message carrying
/// it passes as sent and gives the call an interface that knew nothing gives.
#[test]
fn prop_a_known_header_gives_the_call_a_cold_interface_gives() {
    fn prop(n: u8, o: Option<String>) -> bool {
        let bytes = candid::encode_args((n, o)).unwrap();
        let cold = did(SRC);
        let first = cold.interface().decode_binary("small", &bytes).unwrap();
        let warm = did(SRC);
        let other = candid::encode_args((0u8, None::<String>)).unwrap();
        warm.interface().decode_binary("small", &other).unwrap();
        let second = warm.interface().decode_binary("small", &bytes).unwrap();
        first == second && second.bytes == bytes
    }
    quickcheck::QuickCheck::new()
        .tests(50)
        .quickcheck(prop as fn(u8, Option<String>) -> bool);
}

#[test]
fn a_known_header_passes_values_as_sent_and_keys_stay_canonical() {
    let d = did(SRC);
    let i = d.interface();
    let canonical = candid::encode_args((7u8, Some("hi".to_string()))).unwrap();
    let first = i.decode_binary("small", &canonical).unwrap();
    assert_eq!(first.bytes, canonical);
    // The text's length (2) written in two LEB128 bytes: the same values, other bytes.
    let at = canonical.len() - 3;
    assert_eq!(canonical[at], 2);
    let mut overlong = canonical.clone();
    overlong.splice(at..=at, [0x82, 0x00]);
    let got = i.decode_binary("small", &overlong).unwrap();
    assert_eq!(got.bytes, overlong, "the declared header: passed as sent");
    assert_eq!(got.keys, first.keys);
}

#[test]
fn errors_name_method_and_argument() {
    let d = did(SRC);
    let i = d.interface();
    let err = |m: &str, a: &str| i.decode_text(m, a).unwrap_err();
    assert_eq!(err("nope", "()"), ArgError::UnknownMethod("nope".into()));
    assert!(matches!(
        err("log", "(1, 2, 3)"),
        ArgError::Count {
            expected: 2,
            got: 3,
            ..
        }
    ));
    let e = err("log", r#"(principal "aaaaa-aa")"#);
    assert!(
        e.to_string()
            .starts_with("argument `event` of `log` does not fit `text`: missing"),
        "{e}"
    );
    let e = err("small", "(300)");
    assert!(
        e.to_string()
            .starts_with("argument `n` of `small` does not fit `nat8`"),
        "{e}"
    );
    let e = err("tag", r#"("not a principal", "x")"#);
    assert!(
        e.to_string()
            .starts_with("argument #0 of `tag` does not fit `principal`"),
        "{e}"
    );
    assert!(matches!(err("log", "(principal"), ArgError::Syntax { .. }));
    for e in [
        err("log", "(1, 2, 3)"),
        err("small", "(300)"),
        err("log", "(principal"),
    ] {
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }
}

#[test]
fn binary_errors_name_the_argument() {
    let d = did(SRC);
    let i = d.interface();
    let e = i
        .decode_binary("log", &candid::encode_args((1u8, "x")).unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("argument `user` of `log` does not fit"),
        "{e}"
    );
    assert!(matches!(
        i.decode_binary("log", b"DIDL\xff"),
        Err(ArgError::Binary { .. })
    ));
    // Trailing bytes after the declared arguments are refused.
    let mut long = candid::encode_args((candid::Principal::anonymous(), "x")).unwrap();
    long.push(0);
    assert!(i.decode_binary("log", &long).is_err());
}

#[test]
fn hostile_binary_is_bounded() {
    // `vec null` claiming 2^31 elements in a few bytes: refused by the decoding quota.
    let d = did("service : { f : (v : vec null) -> () pure_update }");
    let bomb = b"DIDL\x01\x6d\x7f\x01\x00\x80\x80\x80\x80\x08";
    assert!(d.interface().decode_binary("f", bomb).is_err());
}

#[test]
fn replies_print_with_types() {
    let d = did(SRC);
    let reply = candid::encode_args((10u64, "ok")).unwrap();
    let text = d
        .interface()
        .decode_reply("get", &reply)
        .unwrap()
        .to_string();
    assert_eq!(text, "(10 : nat64, \"ok\")");
    assert!(d.interface().decode_reply("get", b"x").is_err());
}

/// A bad binary message of 1 MB: candid's own error dumps the whole input in hex, which the
/// refusal must not repeat (2 MB of "one line" before); nor a 1 MB token of bad text.
#[test]
fn errors_on_large_bad_input_stay_short() {
    let d = did(SRC);
    // The wrong type for `user`, and trailing bytes.
    let binaries = [
        candid::encode_args((42u64, vec![0xABu8; 1 << 20])).unwrap(),
        [
            candid::encode_args((candid::Principal::anonymous(), "x")).unwrap(),
            vec![0xAB; 1 << 20],
        ]
        .concat(),
    ];
    let text = format!("(principal \"2vxsx-fae\", \"x\") {}", "z".repeat(1 << 20));
    let mut errors: Vec<String> = binaries
        .iter()
        .map(|bytes| d.interface().decode_binary("log", bytes))
        .chain([d.interface().decode_text("log", &text)])
        .map(|r| r.unwrap_err().to_string())
        .collect();
    for err in &errors {
        assert!(err.len() <= 600, "{} bytes: {}", err.len(), &err[..300]);
        assert!(!err.contains('\n'));
    }
    // The offset of the fault is kept: candid puts it last.
    let last = errors.pop().unwrap();
    assert!(last.ends_with("found at 29:1048605"), "{last}");
}

#[test]
fn a_bare_value_is_told_the_tuple_shape() {
    let d = did(SRC);
    let err = d
        .interface()
        .decode_text("bump", "home")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "arguments to `bump` are not Candid text: arguments are a Candid tuple in parentheses"
        ),
        "{err}"
    );
    let err = d
        .interface()
        .decode_text("bump", "(home")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("in parentheses"), "{err}");
}

/// Invariant B's fast path: once a key argument's header is known, a key is that header
/// then the value's bytes, and equals the canonical encoding a cold interface makes, for
/// every primitive key type.
#[test]
fn prop_a_known_key_header_gives_the_key_a_cold_interface_gives() {
    const KEYED: &str = r#"service : {
      p : (principal) -> () pure_update key(0);
      t : (text) -> () pure_update key(0);
      b : (bool) -> () pure_update key(0);
      n : (nat) -> () pure_update key(0);
      i : (int) -> () pure_update key(0);
      n8 : (nat8, nat16, nat32, nat64) -> () pure_update key(0, 1, 2, 3);
      i8 : (int8, int16, int32, int64) -> () pure_update key(3, 2, 1, 0);
    }"#;
    type Values = (
        Vec<u8>,
        String,
        bool,
        u64,
        i64,
        (u8, u16, u32, u64),
        (i8, i16, i32, i64),
    );
    fn keys_of(i: &crate::Interface, method: &str, bytes: &[u8]) -> Vec<Vec<u8>> {
        i.decode_binary(method, bytes).unwrap().keys
    }
    /// A method's name, its argument bytes and its canonical keys.
    type Call = (&'static str, Vec<u8>, Vec<Vec<u8>>);
    /// Each method's call with `v`.
    fn calls(v: &Values) -> Vec<Call> {
        fn one(value: impl candid::CandidType) -> Vec<u8> {
            candid::encode_one(value).unwrap()
        }
        // A single argument: the call's bytes are its one key's.
        let single = |method, bytes: Vec<u8>| (method, bytes.clone(), vec![bytes]);
        let principal = candid::Principal::from_slice(&v.0[..v.0.len().min(29)]);
        let (n, i) = (v.5, v.6);
        vec![
            single("p", one(principal)),
            single("t", one(&v.1)),
            single("b", one(v.2)),
            single("n", one(candid::Nat::from(v.3))),
            single("i", one(candid::Int::from(v.4))),
            (
                "n8",
                candid::encode_args(n).unwrap(),
                vec![one(n.0), one(n.1), one(n.2), one(n.3)],
            ),
            (
                "i8",
                candid::encode_args(i).unwrap(),
                vec![one(i.3), one(i.2), one(i.1), one(i.0)],
            ),
        ]
    }
    fn prop(v: Values, w: Values) -> bool {
        let warm = did(KEYED);
        calls(&w)
            .iter()
            .zip(calls(&v))
            .all(|((_, learn, _), (method, bytes, canonical))| {
                let cold = keys_of(did(KEYED).interface(), method, &bytes);
                // `warm` learns the headers from `w`'s call; `v`'s then takes the fast path.
                keys_of(warm.interface(), method, learn);
                let fast = keys_of(warm.interface(), method, &bytes);
                cold == canonical && fast == cold
            })
    }
    quickcheck::QuickCheck::new()
        .tests(100)
        .quickcheck(prop as fn(Values, Values) -> bool);
}

/// Law (invariant C): a message the scan accepts is a call the decoder accepts too, with the
/// same bytes and keys; and every canonical message of plain values is scanned. Messages
/// are a canonical call of random values with a few edits: bytes cut, overwritten or
/// inserted, mostly ones that sit at the edge of an encoding (a flag, a sign, a
/// continuation bit).
#[test]
fn prop_a_scanned_call_is_the_call_the_decoder_gives() {
    const PLAIN: &str = r#"service : {
      log : (user : principal, event : text, n : nat, i : int, b : bool, f : int16)
        -> () pure_update key(user, n, i);
    }"#;
    const EDGES: [u8; 12] = [0, 1, 2, 29, 30, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff];
    type Values = (Vec<u8>, String, u64, i64, bool, i16);
    type Edit = (u8, u16, u8);
    /// The call's bytes, and where each value starts and ends in them.
    fn encode(v: &Values) -> (Vec<u8>, Vec<usize>) {
        let principal = candid::Principal::from_slice(&v.0[..v.0.len().min(29)]);
        let (n, i) = (candid::Nat::from(v.2), candid::Int::from(v.3));
        // A value alone after `DIDL`, no type table, one argument and its type.
        let lengths = [
            candid::encode_one(principal).unwrap().len() - 7,
            candid::encode_one(&v.1).unwrap().len() - 7,
            candid::encode_one(&n).unwrap().len() - 7,
            candid::encode_one(&i).unwrap().len() - 7,
            1,
            2,
        ];
        let bytes = candid::encode_args((principal, &v.1, n, i, v.4, v.5)).unwrap();
        let mut edges = vec![bytes.len() - lengths.iter().sum::<usize>()];
        for length in lengths {
            let start = *edges.last().unwrap();
            edges.extend([start + 1, start + length - 1, start + length]);
        }
        (bytes, edges)
    }
    /// Edits `bytes` at a byte near the edge of a value (`edges`), or anywhere.
    fn apply(bytes: &mut Vec<u8>, edges: &[usize], (kind, at, byte): Edit) {
        let at = if kind & 8 == 0 {
            edges[usize::from(at) % edges.len()].min(bytes.len())
        } else {
            usize::from(at) % (bytes.len() + 1)
        };
        let byte = if kind & 4 == 0 {
            EDGES[usize::from(byte) % EDGES.len()]
        } else {
            byte
        };
        match kind % 4 {
            0 => bytes.truncate(at),
            1 | 2 if at < bytes.len() => bytes[at] = byte,
            _ => bytes.insert(at, byte),
        }
    }
    fn prop(learn: Values, v: Values, edits: Vec<Edit>) -> bool {
        let d = did(PLAIN);
        let (interface, method) = (d.interface(), d.interface().method("log").unwrap());
        let headers = &interface.headers["log"];
        interface.decode_binary("log", &encode(&learn).0).unwrap();
        let (canonical, edges) = encode(&v);
        let whole = |bytes: &[u8]| interface.decode_whole(method, Some(headers), bytes);
        let scanned_canonical = headers.scan(method, &canonical);
        let mut bytes = canonical.clone();
        for edit in edits.into_iter().take(3) {
            apply(&mut bytes, &edges, edit);
        }
        let agrees = match headers.scan(method, &bytes) {
            Some(scanned) => whole(&bytes).ok() == Some(scanned),
            None => true,
        };
        agrees && scanned_canonical.is_some() && scanned_canonical == whole(&canonical).ok()
    }
    quickcheck::QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(Values, Values, Vec<Edit>) -> bool);
}

/// Law (invariant C), value by value: after a one-argument header of each plain type, any
/// bytes the scan accepts the decoder accepts too, with the same bytes and key. The bytes
/// are drawn mostly from the edges of encodings (flags, signs, continuation bits), and each
/// of their prefixes is a message.
#[test]
fn prop_a_scanned_value_is_the_value_the_decoder_gives() {
    const ONE: &str = r#"service : {
      p : (principal) -> () pure_update key(0);
      t : (text) -> () pure_update key(0);
      n : (nat) -> () pure_update key(0);
      i : (int) -> () pure_update key(0);
      b : (bool) -> () pure_update key(0);
      n8 : (nat8) -> () pure_update key(0);
      n16 : (nat16) -> () pure_update key(0);
      n32 : (nat32) -> () pure_update key(0);
      n64 : (nat64) -> () pure_update key(0);
      i8 : (int8) -> () pure_update key(0);
      i16 : (int16) -> () pure_update key(0);
      i32 : (int32) -> () pure_update key(0);
      i64 : (int64) -> () pure_update key(0);
    }"#;
    const EDGES: [u8; 12] = [0, 1, 2, 29, 30, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff];
    fn prop(drawn: Vec<(bool, u8)>) -> bool {
        let d = did(ONE);
        let interface = d.interface();
        let canonical = [
            (
                "p",
                candid::encode_one(candid::Principal::anonymous()).unwrap(),
            ),
            ("t", candid::encode_one("").unwrap()),
            ("n", candid::encode_one(candid::Nat::from(0u8)).unwrap()),
            ("i", candid::encode_one(candid::Int::from(0)).unwrap()),
            ("b", candid::encode_one(false).unwrap()),
            ("n8", candid::encode_one(0u8).unwrap()),
            ("n16", candid::encode_one(0u16).unwrap()),
            ("n32", candid::encode_one(0u32).unwrap()),
            ("n64", candid::encode_one(0u64).unwrap()),
            ("i8", candid::encode_one(0i8).unwrap()),
            ("i16", candid::encode_one(0i16).unwrap()),
            ("i32", candid::encode_one(0i32).unwrap()),
            ("i64", candid::encode_one(0i64).unwrap()),
        ];
        let value: Vec<u8> = drawn
            .iter()
            .take(40)
            .map(|&(raw, b)| if raw { b } else { EDGES[usize::from(b) % 12] })
            .collect();
        canonical.iter().all(|(name, learn)| {
            interface.decode_binary(name, learn).unwrap();
            let (m, h) = (interface.method(name).unwrap(), &interface.headers[*name]);
            (0..=value.len()).all(|cut| {
                // `DIDL`, no type table, one argument, its type.
                let mut bytes = learn[..7].to_vec();
                bytes.extend_from_slice(&value[..cut]);
                match h.scan(m, &bytes) {
                    Some(scanned) => {
                        interface.decode_whole(m, Some(h), &bytes).ok() == Some(scanned)
                    }
                    None => true,
                }
            })
        })
    }
    quickcheck::QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Vec<(bool, u8)>) -> bool);
}

/// Invariant C: candid charges a principal more than its bytes add to the decoding quota,
/// so a message of many short principals can be refused for its cost alone. A method with
/// that many is never scanned: a warm interface refuses what a cold one does.
#[test]
fn a_call_too_costly_for_the_decoder_is_never_scanned() {
    fn principals(n: usize, len: usize) -> Vec<u8> {
        let mut builder = candid::ser::IDLBuilder::new();
        for _ in 0..n {
            builder
                .arg(&candid::Principal::from_slice(&vec![7; len]))
                .unwrap();
        }
        builder.serialize_to_vec().unwrap()
    }
    for n in [300, 800] {
        let args = vec!["principal"; n].join(", ");
        let src = format!("service : {{ m : ({args}) -> () pure_update key(0) }}");
        let (cold, warm) = (did(&src), did(&src));
        warm.interface()
            .decode_binary("m", &principals(n, 29))
            .unwrap();
        let short = principals(n, 0);
        let got = |d: &Did| d.interface().decode_binary("m", &short).map(|a| a.keys);
        assert_eq!(got(&warm), got(&cold), "{n} principals");
        let headers = &warm.interface().headers["m"];
        assert_eq!(headers.plain.is_some(), n == 300, "{n} principals scanned");
    }
}
