//! The one error a `.did` file can produce: a message pinned to a file, line and column.

use crate::Position;
use thiserror::Error;

/// A `.did` file was rejected. Displays as `FILE:LINE:COL: message`, one line, the form
/// `commute did check` prints after `error: `.
///
/// # Examples
///
/// ```
/// use commute_did::Did;
///
/// let err = Did::parse("app.did", "service : {\n  f : () -> () pure_update key(x);\n}")
///     .unwrap_err();
/// assert_eq!(err.to_string(), "app.did:2:32: unknown key argument `x` of method `f`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{at}: {message}")]
pub struct DidError {
    /// The file name as given by the caller.
    pub file: String,
    /// Where in the file the problem is.
    pub at: Position,
    /// What is wrong, one line, no position.
    pub message: String,
}

/// An error located by byte offset, before the file name and text are known to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

impl Located {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Located {
        Located {
            offset,
            message: message.into(),
        }
    }

    /// Pins this error to `file`, computing line and column in `src`. Newlines in the
    /// message are folded so the error stays on one line.
    pub(crate) fn into_error(self, file: &str, src: &str) -> DidError {
        DidError {
            file: file.to_string(),
            at: Position::of(src, self.offset),
            message: self
                .message
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}
