use super::*;

fn doc_attrs(src: &str) -> Vec<syn::Attribute> {
    syn::parse_str::<syn::ItemFn>(src).unwrap().attrs
}

#[test]
fn the_doc_summary_is_the_first_paragraph() {
    let attrs =
        doc_attrs("/// Adds `points`.\n///  Twice.\n///\n/// ```\n/// x\n/// ```\nfn f() {}");
    assert_eq!(doc_summary(&attrs), ["Adds `points`.", "Twice."]);
    assert!(doc_summary(&doc_attrs("fn f() {}")).is_empty());
}

#[test]
fn a_type_that_does_not_parse_is_an_error() {
    let method = Method {
        name: "f".into(),
        mode: Mode::Query,
        args: vec![Arg {
            name: Some("x".into()),
            ty: "=> u8".into(),
        }],
        rets: Vec::new(),
        keys: Vec::new(),
        docs: Vec::new(),
    };
    assert!(expand_derived(vec![method]).is_err());
}

#[test]
fn the_derived_form_exports_the_candid_query() {
    let out = expand_derived(Vec::new()).unwrap().to_string();
    assert!(
        out.contains("\"canister_query __get_candid_interface_tmp_hack\""),
        "{out}"
    );
    assert!(out.contains("fn __export_service"), "{out}");
}
