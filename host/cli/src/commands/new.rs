//! `commute new NAME [--sdk-path PATH | --sdk-git URL]`: a canister crate of one's own, as
//! `dfx new` or `cargo new` make one.
//!
//! The crate stands outside any workspace (its `Cargo.toml` has a `[workspace]` table of
//! its own) and depends on the guest SDK `commute-cdk`, which is not on crates.io: by path
//! (by default the SDK this binary was built from, whose sources `cargo install --path`
//! leaves where they are) or by git. Its files come from `new/template/`: a keyed
//! `#[pure_update]`, an update and a query, `export_candid!()` (the `.did` derived from
//! them), native unit tests, the wasm stack size and release profile the examples use, and a README with the commands to build,
//! install and call it.
//!
//! A failure while writing removes the directory it created: nothing half-written stays.

use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Create a canister crate NAME/ outside any workspace, depending on the guest SDK.
#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The canister's name, also its crate's and its directory's: a lowercase letter, then
    /// up to 63 of a-z, 0-9, `_` and `-`.
    name: String,
    /// Depend on the guest SDK (`commute-cdk`) at this path [default: the one this
    /// `commute` was built from].
    #[arg(long, value_name = "PATH", conflicts_with = "sdk_git")]
    sdk_path: Option<PathBuf>,
    /// Depend on the guest SDK in this git repository (commute's) instead.
    #[arg(long, value_name = "URL")]
    sdk_git: Option<String>,
}

/// The guest SDK of the sources this binary was built from.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-sdk");

/// The files of a new crate: where each goes, and its template.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("new/template/Cargo.toml.tmpl")),
    (
        ".cargo/config.toml",
        include_str!("new/template/config.toml.tmpl"),
    ),
    (".gitignore", include_str!("new/template/gitignore.tmpl")),
    ("src/lib.rs", include_str!("new/template/lib.rs.tmpl")),
    ("README.md", include_str!("new/template/README.md.tmpl")),
];

/// Names a crate cannot take: Rust's keywords (cargo refuses them), and the crates every
/// canister links, which a library of the same name would shadow.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "abstract", "alloc", "as", "async", "await", "become", "box", "break", "candid",
    "commute_cdk", "const", "continue", "core", "crate", "do", "dyn", "else", "enum", "extern",
    "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match",
    "mod", "move", "mut", "override", "priv", "proc_macro", "pub", "ref", "return", "self",
    "serde", "static", "std", "struct", "super", "test", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

pub(crate) fn run(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let sdk = match (&args.sdk_path, &args.sdk_git) {
        (_, Some(url)) => Sdk::Git(url.clone()),
        (Some(path), None) => Sdk::Path(sdk_dir(path, "--sdk-path")?),
        (None, None) => Sdk::Path(sdk_dir(Path::new(BUILT_SDK), "the default SDK").context(
            "the guest SDK this `commute` was built from is gone: pass --sdk-path or --sdk-git",
        )?),
    };
    let dest = PathBuf::from(&args.name);
    create(&dest, &args.name, &sdk)?;
    let name = &args.name;
    write!(
        std::io::stdout(),
        "created {name}/ (commute-cdk {})\n\
         next: cd {name} && cargo build --target wasm32-unknown-unknown --release (see its README.md)\n",
        sdk.describe()
    )
    .context("cannot write to stdout")
}

/// Where the new crate finds `commute-cdk`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sdk {
    /// A directory holding the SDK's `Cargo.toml`, absolute.
    Path(PathBuf),
    /// A git repository holding the SDK.
    Git(String),
}

impl Sdk {
    /// The dependency line of the new crate's `Cargo.toml`.
    fn dependency(&self) -> String {
        match self {
            Sdk::Path(p) => format!(
                "commute-cdk = {{ path = {} }}",
                toml_string(&p.display().to_string())
            ),
            Sdk::Git(url) => format!("commute-cdk = {{ git = {} }}", toml_string(url)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Sdk::Path(p) => format!("at {}", p.display()),
            Sdk::Git(url) => format!("from {url}"),
        }
    }
}

/// Refuses a name that is not both a canister name (`[a-z0-9_-]{1,64}`) and a crate name
/// (a letter first, no keyword).
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        bail!(
            "`{name}` cannot name a canister: use a lowercase letter, then up to 63 of a-z, 0-9, `_` and `-`"
        );
    }
    if RESERVED.contains(&crate_name(name).as_str()) {
        bail!("`{name}` cannot name a crate: it is a Rust keyword or a crate every canister uses");
    }
    Ok(())
}

/// The library's name: the wasm file is `target/wasm32-unknown-unknown/release/<it>.wasm`.
fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

/// `path` made absolute, after checking it holds the `commute-cdk` package.
fn sdk_dir(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("{what} {}: no Cargo.toml there", path.display()))?;
    if !text.lines().any(|l| l.trim() == r#"name = "commute-cdk""#) {
        bail!(
            "{what} {}: its Cargo.toml is not the package `commute-cdk`",
            path.display()
        );
    }
    std::fs::canonicalize(path).with_context(|| format!("{what} {}", path.display()))
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `template` with its placeholders filled in.
fn render(template: &str, name: &str, sdk: &Sdk) -> String {
    template
        .replace("@NAME@", name)
        .replace("@CRATE@", &crate_name(name))
        .replace("@SDK@", &sdk.dependency())
}

/// Writes the crate `name` at `dest`, which must not exist.
fn create(dest: &Path, name: &str, sdk: &Sdk) -> anyhow::Result<()> {
    // `create_dir`, not `create_dir_all`: it fails if `dest` exists, with no race.
    std::fs::create_dir(dest).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow::anyhow!("{}: already exists", dest.display()),
        _ => anyhow::anyhow!("cannot create {}: {e}", dest.display()),
    })?;
    let written = write_files(dest, name, sdk);
    if written.is_err() {
        // Nothing half-written is left behind; the directory was ours.
        let _ = std::fs::remove_dir_all(dest);
    }
    written
}

fn write_files(dest: &Path, name: &str, sdk: &Sdk) -> anyhow::Result<()> {
    for (path, template) in FILES {
        let file = dest.join(render(path, name, sdk));
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&file, render(template, name, sdk))
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
