use super::*;

#[test]
fn names_must_be_canister_and_crate_names() {
    for good in ["mycan", "my-can", "a", "x_1", &"a".repeat(64)] {
        check_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "1can",
        "-can",
        "My",
        "my can",
        "my.can",
        "../x",
        "é",
        &"a".repeat(65),
    ] {
        let err = check_name(bad).unwrap_err().to_string();
        assert!(err.contains("cannot name a canister"), "{bad}: {err}");
    }
    for reserved in ["fn", "test", "std", "commute-cdk", "candid"] {
        let err = check_name(reserved).unwrap_err().to_string();
        assert!(err.contains("cannot name a crate"), "{reserved}: {err}");
    }
}

#[test]
fn dependency_lines_are_toml_strings() {
    let path = Sdk::Path(PathBuf::from(r#"/a "b"\c"#));
    assert_eq!(
        path.dependency(),
        r#"commute-cdk = { path = "/a \"b\"\\c" }"#
    );
    let git = Sdk::Git("https://example.org/commute.git".into());
    assert_eq!(
        git.dependency(),
        r#"commute-cdk = { git = "https://example.org/commute.git" }"#
    );
    assert_eq!(toml_string("a\nb"), r#""a\u000Ab""#);
}

#[test]
fn every_placeholder_is_filled() {
    let sdk = Sdk::Git("u".into());
    for (path, template) in FILES {
        for text in [
            render(path, "my-can", &sdk),
            render(template, "my-can", &sdk),
        ] {
            for placeholder in ["@NAME@", "@CRATE@", "@SDK@"] {
                assert!(!text.contains(placeholder), "{path}: {text}");
            }
        }
    }
    let readme = render(
        FILES.iter().find(|f| f.0 == "README.md").unwrap().1,
        "my-can",
        &sdk,
    );
    assert!(readme.contains("release/my_can.wasm"), "{readme}");
    let manifest = render(FILES[0].1, "my-can", &sdk);
    assert!(manifest.contains("name = \"my-can\"\n"));
    assert!(manifest.contains("\n[workspace]\n"));
}

#[test]
fn the_built_sdk_is_found_and_others_are_checked() {
    let built = sdk_dir(Path::new(BUILT_SDK), "the default SDK").unwrap();
    assert!(built.is_absolute() && built.ends_with("guest-sdk"));
    let err = sdk_dir(&built.join("src"), "--sdk-path").unwrap_err();
    assert!(
        format!("{err:#}").contains("no Cargo.toml there"),
        "{err:#}"
    );
    let err = sdk_dir(&built.join("macros"), "--sdk-path").unwrap_err();
    assert!(
        err.to_string().contains("not the package `commute-cdk`"),
        "{err}"
    );
}

#[test]
fn an_existing_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("mycan");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("mine"), "keep").unwrap();
    let err = create(&dest, "mycan", &Sdk::Git("u".into())).unwrap_err();
    assert!(err.to_string().ends_with("mycan: already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(dest.join("mine")).unwrap(), "keep");
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
}

#[test]
fn a_new_crate_has_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("my-can");
    create(&dest, "my-can", &Sdk::Git("u".into())).unwrap();
    for file in [
        "Cargo.toml",
        ".cargo/config.toml",
        ".gitignore",
        "src/lib.rs",
        "README.md",
    ] {
        assert!(dest.join(file).is_file(), "{file}");
    }
    let lib = std::fs::read_to_string(dest.join("src/lib.rs")).unwrap();
    assert!(lib.contains("export_candid!();"));
    assert!(lib.contains("#[pure_update(key = \"player\")]"));
    assert!(!dest.join("my-can.did").exists());
}
