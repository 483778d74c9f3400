//! One module per subcommand of `commute`.

pub(crate) mod bench;
pub(crate) mod call;
pub(crate) mod demo;
pub(crate) mod did;
pub(crate) mod dump;
pub(crate) mod install;
pub(crate) mod root;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod target;
pub(crate) mod tick;
