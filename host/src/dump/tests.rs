//! Tests of the readable dump: the text-or-hex rule and the rewriting of a hex dump.

use super::{readable, text_or_hex, DumpError};
use serde_json::json;

/// The bytes a rendered string stands for: the inverse of [`text_or_hex`], as a reader of
/// a dump applies it.
fn bytes_of(rendered: &str) -> Vec<u8> {
    match rendered.strip_prefix("0x") {
        Some(hex) => hex::decode(hex).unwrap(),
        None => rendered.as_bytes().to_vec(),
    }
}

#[test]
fn printable_utf8_is_text_and_everything_else_hex() {
    assert_eq!(text_or_hex(b"actions"), "actions");
    assert_eq!(text_or_hex(b""), "");
    assert_eq!(text_or_hex("café ☕".as_bytes()), "café ☕");
    assert_eq!(
        text_or_hex(b"0X1 is not the prefix"),
        "0X1 is not the prefix"
    );
    // Not UTF-8.
    assert_eq!(text_or_hex(&[0xff, 0xfe]), "0xfffe");
    assert_eq!(text_or_hex(&[b'a', 0xc3]), "0x61c3");
    // UTF-8, but with control characters: C0, DEL, C1 (NEL), newline.
    assert_eq!(text_or_hex(b"ring\x07"), "0x72696e6707");
    assert_eq!(text_or_hex(b"\x7f"), "0x7f");
    assert_eq!(text_or_hex("a\u{85}".as_bytes()), "0x61c285");
    assert_eq!(text_or_hex(b"two\nlines"), "0x74776f0a6c696e6573");
    // A stored u64 (big-endian) is valid UTF-8 made of NULs: bytes, not text.
    assert_eq!(text_or_hex(&3u64.to_be_bytes()), "0x0000000000000003");
    // Text that looks like hex is shown as hex, so `0x` always means hex.
    assert_eq!(text_or_hex(b"0xff"), "0x30786666");
}

#[test]
fn prop_rendering_is_one_to_one() {
    // bytes_of(text_or_hex(b)) = b: no two byte strings render alike, so keys never collide.
    fn prop(bytes: Vec<u8>) -> bool {
        bytes_of(&text_or_hex(&bytes)) == bytes
    }
    quickcheck::QuickCheck::new()
        .tests(2_000)
        .quickcheck(prop as fn(Vec<u8>) -> bool);
    // Strings are the interesting case: mostly text, some of it `0x`-led.
    fn prop_text(text: String) -> bool {
        let prefixed = format!("0x{text}");
        prop(text.into_bytes()) && prop(prefixed.into_bytes())
    }
    quickcheck::QuickCheck::new()
        .tests(2_000)
        .quickcheck(prop_text as fn(String) -> bool);
}

#[test]
fn a_dump_with_text_binary_and_control_bytes_reads_as_expected() {
    let h = |b: &[u8]| hex::encode(b);
    let hex_dump = json!({
        "counters": {h(b"events_per_user"): {h(b"alice"): "2", h(&[0xff, 0x01]): "1", "": "7"}},
        "maps": {h(b"last_event"): {h(b"alice"): h(b"signed in"), h(&[0xff, 0x01]): h(b"ring\x07")}},
        "lists": {h(b"events"): [h(b"signed in"), h(b"ring\x07"), h(b"0x0")]},
    });
    assert_eq!(
        readable(&hex_dump).unwrap(),
        json!({
            "counters": {"events_per_user": {"alice": "2", "0xff01": "1", "": "7"}},
            "maps": {"last_event": {"alice": "signed in", "0xff01": "0x72696e6707"}},
            "lists": {"events": ["signed in", "0x72696e6707", "0x307830"]},
        })
    );
    let empty = json!({"counters": {}, "maps": {}, "lists": {}});
    assert_eq!(readable(&empty).unwrap(), empty);
}

#[test]
fn what_is_not_a_hex_dump_is_refused_naming_the_part() {
    let refused = |v: serde_json::Value| readable(&v).unwrap_err().to_string();
    assert_eq!(
        refused(json!({"maps": {}, "lists": {}})),
        "not a dump: no `counters` object"
    );
    assert_eq!(
        refused(json!({"counters": {}, "maps": {"6d": {"6b": "zz"}}, "lists": {}})),
        "not a dump: `zz` in `maps.6d.6b` is not hex (Invalid character 'z' at position 0)"
    );
    assert_eq!(
        refused(json!({"counters": {}, "maps": {}, "lists": {"6c": [7]}})),
        "not a dump: `lists.6c[0]` is not a string"
    );
    assert_eq!(
        readable(&json!({"counters": {"6": {}}, "maps": {}, "lists": {}})),
        Err(DumpError::NotADump(
            "`6` in `counters` is not hex (Odd number of digits)".into()
        ))
    );
}
