//! The round flags `tick` and `serve` share: `--threads`, `--round-size`,
//! `--checkpoint-bytes`.

use commute::Config;

/// How rounds run: flattened into every command that runs them.
#[derive(Debug, clap::Args)]
pub(crate) struct RoundArgs {
    /// Worker threads for pure rounds [default: the machine's cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// The most calls one round takes.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    round_size: Option<u32>,
    /// Checkpoint the state once the journals since the last checkpoint hold this many
    /// bytes, and as many as the state (0: after every round) [default: 64 MiB].
    #[arg(long, value_name = "BYTES")]
    checkpoint_bytes: Option<usize>,
}

impl RoundArgs {
    /// `config` with the flags given applied; the others keep its values.
    pub(crate) fn apply(&self, mut config: Config) -> Config {
        if let Some(n) = self.threads {
            config.threads = usize::from(n);
        }
        if let Some(n) = self.round_size {
            config.max_round_calls = n as usize;
        }
        if let Some(n) = self.checkpoint_bytes {
            config.checkpoint_bytes = n;
        }
        config
    }
}
