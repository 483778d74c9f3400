//! The guest ABI of commute, written down once.
//!
//! A commute canister is a wasm module that imports the functions of `docs/guest-abi.md` from the
//! modules `ic0` and `commute`, and exports its methods as `canister_query NAME`,
//! `canister_update NAME` and `canister_init`. This crate is that contract as data:
//!
//! - [`IMPORTS`] lists every import with its module, name, parameter and result types,
//!   and its [`Class`]. The host's linker defines exactly these; its install check refuses
//!   any other import; the guest SDK's `sys` bindings declare exactly these. A test compiles
//!   a guest to wasm and compares its imports with this table.
//! - [`Mode`] and [`Class::allowed_in`] say which imports a call may use in which mode:
//!   a pure update may not read or reply, a query may not write or call.
//! - [`export`] names the exports and the custom section that carries the `.did`.
//! - [`call_pure_status`] names the codes `call_pure` returns.
//!
//! The crate has no dependencies, so both the host and every guest can use it.
//!
//! ```
//! use commute_abi::{import, Class, Mode, ValType};
//!
//! let map_get = import("commute", "map_get").unwrap();
//! assert_eq!(map_get.class, Class::Read);
//! assert_eq!(map_get.results, &[ValType::I32]);
//! assert!(!map_get.allowed_in(Mode::PureUpdate));
//! assert!(map_get.allowed_in(Mode::Query));
//! ```

pub mod call_pure_status;
pub mod export;
mod import;
mod key_name;
mod mode;
mod table;

pub use import::{Class, Import, Module, Param, ValType};
pub use key_name::is_plain_key_name;
pub use mode::Mode;
pub use table::{import, IMPORTS};

#[cfg(test)]
mod tests;
