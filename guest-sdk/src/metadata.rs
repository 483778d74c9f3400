//! [`export_candid!`](crate::export_candid): the `.did` as a custom section of the wasm.

/// Embeds a `.did` file in the wasm as the `icp:public candid:service` custom section, so
/// `commute install` can omit `--did`. Differs from ic-cdk: ic-cdk's `export_candid!()`
/// generates the interface from the Rust types for `candid-extractor`; commute embeds the
/// `.did` you wrote (with its `pure_update` annotations), named relative to the crate's
/// `Cargo.toml`.
///
/// Put it once in the crate, usually last in `lib.rs`. It does nothing off wasm32.
///
/// ```
/// // In a canister crate with `logger.did` beside its Cargo.toml:
/// // commute_cdk::export_candid!("logger.did");
/// # commute_cdk::export_candid!("Cargo.toml"); // (any file of this crate, for the test)
/// ```
#[macro_export]
macro_rules! export_candid {
    ($path:literal) => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "icp:public candid:service")]
        #[used]
        static __COMMUTE_CANDID_SERVICE: [u8; ::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            $path
        ))
        .len()] = *::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            $path
        ));
    };
}
