use super::*;

/// A module holding one custom section `name` with `data`, and nothing else.
fn module_with_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    assert!(
        body.len() < 128,
        "one-byte LEB128 sizes keep this helper simple"
    );
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.push(0); // custom section id
    wasm.push(body.len() as u8);
    wasm.extend_from_slice(&body);
    wasm
}

#[test]
fn reads_the_candid_service_section() {
    let did = "service : { f : () -> () }";
    let wasm = module_with_section(CANDID_SERVICE_SECTION, did.as_bytes());
    assert_eq!(candid_service_section(&wasm).unwrap().as_deref(), Some(did));
}

#[test]
fn other_sections_are_ignored() {
    let wasm = module_with_section("icp:private candid:service", b"service : {}");
    assert_eq!(candid_service_section(&wasm).unwrap(), None);
}

#[test]
fn non_text_section_and_non_wasm_are_errors() {
    let wasm = module_with_section(CANDID_SERVICE_SECTION, b"\xff\xfe");
    assert_eq!(
        candid_service_section(&wasm),
        Err(SectionError::NotText(CANDID_SERVICE_SECTION.into()))
    );
    let err = candid_service_section(b"\0asm\x01\0\0\0\x00\x7f").unwrap_err();
    assert!(matches!(err, SectionError::NotWasm(_)), "{err}");
}

#[test]
fn sections_of_one_name_are_concatenated() {
    let mut wasm = module_with_section("commute:modes", b"query a\n");
    wasm.extend_from_slice(&module_with_section("commute:modes", b"update b\n")[8..]);
    assert_eq!(
        custom_section_text(&wasm, "commute:modes")
            .unwrap()
            .as_deref(),
        Some("query a\nupdate b\n")
    );
}
