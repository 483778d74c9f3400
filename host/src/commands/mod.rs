//! One module per subcommand of `commute`.

pub(crate) mod did;
