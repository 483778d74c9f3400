//! `println!` and `eprintln!` that go to `debug_print`, as in ic-cdk.

/// Formats like [`std::println!`] and prints with [`debug_print`](crate::api::debug_print):
/// to the host's log on wasm, to stdout natively.
///
/// ```
/// commute_cdk::println!("{} views", 3);
/// assert_eq!(commute_cdk::testing::take_debug_prints(), ["3 views"]);
/// ```
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::api::debug_print(::std::format!($($arg)*))
    };
}

/// The same as [`println!`](crate::println): the host has a single log.
///
/// ```
/// commute_cdk::eprintln!("oops: {}", 1);
/// assert_eq!(commute_cdk::testing::take_debug_prints(), ["oops: 1"]);
/// ```
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::api::debug_print(::std::format!($($arg)*))
    };
}
