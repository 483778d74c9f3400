//! The operator's token: installing, upgrading and dumping are the operator's, so the
//! server writes a fresh random token where only the data dir's owner can read it, and
//! those requests must carry it (as Jupyter does). Whoever can read the data dir owns its
//! state anyway; whoever can only reach the port cannot replace code or read all state.

use std::io::Write;
use std::path::Path;

/// The file, in the data dir, that holds the token of the server that owns it.
pub const TOKEN_FILE: &str = "serve.token";

/// A token: 32 random bytes in hex.
pub(crate) struct Token {
    text: String,
    digest: blake3::Hash,
}

impl Token {
    /// A fresh token, written to [`TOKEN_FILE`] in `dir` with mode 0600. A file left by an
    /// earlier server is removed first, so the mode is this one's and no link is followed.
    pub(crate) fn create(dir: &Path) -> std::io::Result<Token> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        let text = hex::encode(bytes);
        let path = dir.join(TOKEN_FILE);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(format!("{text}\n").as_bytes())?;
        file.sync_all()?;
        Ok(Token {
            digest: blake3::hash(text.as_bytes()),
            text,
        })
    }

    /// The token as sent in `Authorization: Bearer TOKEN`.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether `given` is the token. Compares digests, whose equality takes the same time
    /// wherever they differ, so timing tells a guesser nothing.
    pub(crate) fn matches(&self, given: &str) -> bool {
        blake3::hash(given.as_bytes()) == self.digest
    }
}
