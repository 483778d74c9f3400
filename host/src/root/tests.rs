use super::*;
use crate::store::check_golden;

/// blake3 of 2048 zero bytes: the root of a state with no entry. Fixed forever.
const EMPTY_ROOT: &str = "be2a8de3dcf46c94ce85cdc8e07ac308f4d8a95490d956c38d780fd610db0813";

#[test]
fn empty_root_is_fixed() {
    assert_eq!(Root::empty().to_hex(), EMPTY_ROOT);
    assert_eq!(Lattice::new().root().to_string(), EMPTY_ROOT);
}

fn sample_entries() -> Vec<(&'static str, Entry<'static>)> {
    vec![
        (
            "counter web views / = 3",
            Entry::Counter {
                canister: "web",
                name: b"views",
                key: b"/",
                value: 3,
            },
        ),
        (
            "counter web views / = -3",
            Entry::Counter {
                canister: "web",
                name: b"views",
                key: b"/",
                value: -3,
            },
        ),
        (
            "counter web hits (empty key) = i128::MIN",
            Entry::Counter {
                canister: "web",
                name: b"hits",
                key: b"",
                value: i128::MIN,
            },
        ),
        (
            "map logger last ann = login",
            Entry::Map {
                canister: "logger",
                name: b"last",
                key: b"ann",
                value: b"login",
            },
        ),
        (
            "map logger last ann = (empty)",
            Entry::Map {
                canister: "logger",
                name: b"last",
                key: b"ann",
                value: b"",
            },
        ),
        (
            "list logger events (7, 2) = login",
            Entry::List {
                canister: "logger",
                name: b"events",
                seq: 7,
                index: 2,
                value: b"login",
            },
        ),
        (
            "list logger events (u64::MAX, u32::MAX) = (empty)",
            Entry::List {
                canister: "logger",
                name: b"events",
                seq: u64::MAX,
                index: u32::MAX,
                value: b"",
            },
        ),
    ]
}

/// Pins the digest input layout: any change to the domain, the field order or the length
/// prefixes changes these lines.
#[test]
fn entry_digests_match_golden() {
    let mut out = String::from(
        "# Entry digests: the first 32 of their 2048 bytes, in hex, then the root of all of them.\n",
    );
    for (label, entry) in sample_entries() {
        let bytes = entry.digest().to_bytes();
        out += &format!(
            "{label}\n  {}\n",
            Root::from_bytes(bytes[..32].try_into().unwrap())
        );
    }
    let all = Lattice::from_entries(sample_entries().into_iter().map(|(_, e)| e));
    out += &format!(
        "root of all\n  {}\nroot of none\n  {}\n",
        all.root(),
        Root::empty()
    );
    check_golden("src/root/entry_digests.golden", &out);
}

#[test]
fn digests_separate_kinds() {
    let map = Entry::Map {
        canister: "c",
        name: b"n",
        key: b"k",
        value: &[0; 16],
    };
    let counter = Entry::Counter {
        canister: "c",
        name: b"n",
        key: b"k",
        value: 0,
    };
    assert_ne!(map.digest(), counter.digest());
    let list = Entry::List {
        canister: "c",
        name: b"n",
        seq: 0,
        index: 0,
        value: b"",
    };
    let map_like = Entry::Map {
        canister: "c",
        name: b"n",
        key: &[0; 12],
        value: b"",
    };
    assert_ne!(list.digest(), map_like.digest());
}

#[test]
fn digests_are_length_prefixed() {
    let a = Entry::Map {
        canister: "ab",
        name: b"c",
        key: b"",
        value: b"",
    };
    let b = Entry::Map {
        canister: "a",
        name: b"bc",
        key: b"",
        value: b"",
    };
    let c = Entry::Map {
        canister: "a",
        name: b"b",
        key: b"c",
        value: b"",
    };
    let d = Entry::Map {
        canister: "a",
        name: b"b",
        key: b"",
        value: b"c",
    };
    let digests = [a.digest(), b.digest(), c.digest(), d.digest()];
    for (i, x) in digests.iter().enumerate() {
        for y in &digests[i + 1..] {
            assert_ne!(x, y);
        }
    }
}

#[test]
fn inserting_twice_is_not_idempotent() {
    // A multiset hash: the store must keep each entry once (documented in the module doc).
    let entry = Entry::Map {
        canister: "c",
        name: b"n",
        key: b"k",
        value: b"v",
    };
    assert_ne!(
        Lattice::from_entries([entry, entry]),
        Lattice::from_entries([entry])
    );
}

#[test]
fn lattice_bytes_round_trip() {
    let lattice = Lattice::from_entries(sample_entries().into_iter().map(|(_, e)| e));
    assert_eq!(Lattice::from_bytes(&lattice.to_bytes()).unwrap(), lattice);
    let err = Lattice::from_bytes(&[0; 2047]).unwrap_err();
    assert_eq!(err.to_string(), "lattice is 2047 bytes, expected 2048");
}

#[test]
fn list_element_keys_sort_by_seq_then_index() {
    let keys = [
        list_element_key(1, u32::MAX),
        list_element_key(2, 0),
        list_element_key(2, 1),
        list_element_key(256, 0),
    ];
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn root_displays_as_lowercase_hex() {
    let root = Root::from_bytes([0xAB; 32]);
    assert_eq!(format!("{root}"), "ab".repeat(32));
    assert_eq!(format!("{root:?}"), format!("Root({})", "ab".repeat(32)));
}

quickcheck::quickcheck! {
    /// A digest is the XOF of the length-prefixed fields fed one by one, whether they fit
    /// the one-`update` buffer or not.
    fn prop_digest_is_the_fields_fed_one_by_one(name: Vec<u8>, key: Vec<u8>, value: Vec<u8>, big: bool) -> bool {
        let value = if big { value.repeat(64) } else { value };
        let entry = Entry::Map { canister: "c", name: &name, key: &key, value: &value };
        let mut hasher = blake3::Hasher::new_derive_key(ENTRY_CONTEXT);
        for (i, part) in [&b"c"[..], &name, &key, &value].iter().enumerate() {
            if i == 1 {
                hasher.update(b"m");
            }
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let mut want = [0u8; LATTICE_BYTES];
        hasher.finalize_xof().fill(&mut want);
        entry.digest().to_bytes() == want
    }
}
