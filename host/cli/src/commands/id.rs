//! `commute id NAME`.

/// Print the principal of canister NAME, as `dfx canister id` does: what IC clients
/// (`@dfinity/agent`, `ic-agent`, `dfx`) address it by. Ids derive from names, so this needs
/// no data dir, and a name has its id before it is installed.
#[derive(Debug, clap::Args)]
pub(crate) struct IdArgs {
    /// The canister's name.
    name: String,
}

pub(crate) fn run(args: IdArgs) -> anyhow::Result<()> {
    if !commute::registry::valid_name(&args.name) {
        anyhow::bail!(
            "`{}` is not a canister name: 1 to 64 of a-z, 0-9, _ and -",
            args.name
        );
    }
    println!("{}", commute::registry::principal_of(&args.name));
    Ok(())
}
