//! The words of trap messages: who trapped, and guest text made one line.

use std::fmt;

use commute_abi::{Class, Import, Mode};

/// The most bytes of guest-provided text (`trap`, `msg_reject`) kept in a trap message;
/// longer text is cut at a character boundary and ends in `…`.
///
/// ```
/// assert_eq!(commute::execute::MESSAGE_MAX, 1024);
/// ```
pub const MESSAGE_MAX: usize = 1024;

/// The most bytes of one `debug_print` written to stderr; longer text is cut.
///
/// ```
/// assert_eq!(commute::execute::PRINT_MAX, 16 * 1024);
/// ```
pub const PRINT_MAX: usize = 16 * 1024;

/// The call as messages name it: `pure update \`log\``, `query \`views\``, `init`.
/// Written out only when a message is made: a call that succeeds formats no name.
#[derive(Clone, Copy, Debug)]
pub(super) struct Who<'a> {
    mode: Mode,
    method: &'a str,
}

/// The name of a call of `method` in `mode`.
pub(super) fn who(mode: Mode, method: &str) -> Who<'_> {
    Who { mode, method }
}

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = self.method;
        match self.mode {
            Mode::Init => f.write_str("init"),
            Mode::Update => write!(f, "update `{method}`"),
            Mode::Oneway => write!(f, "oneway `{method}`"),
            Mode::Query => write!(f, "query `{method}`"),
            Mode::PureUpdate => write!(f, "pure update `{method}`"),
        }
    }
}

/// The message of a call in `mode` that used `import`, which `mode` does not allow:
/// `pure update \`log\` called commute.map_get: pure updates cannot read state`.
pub(super) fn forbidden(who: Who<'_>, mode: Mode, import: &Import) -> String {
    let modes = match mode {
        Mode::Init => "init",
        Mode::Update => "updates",
        Mode::Oneway => "oneways",
        Mode::Query => "queries",
        Mode::PureUpdate => "pure updates",
    };
    let verb = match import.class {
        Class::Read => "read state",
        Class::Write => "write state",
        Class::Reply => "reply",
        Class::Call => "fire calls",
        Class::Context | Class::Arg | Class::Diagnostics => "use it",
    };
    format!(
        "{who} called {}.{}: {modes} cannot {verb}",
        import.module, import.name
    )
}

/// `bytes` as text on one line: lossy UTF-8, every control character (newlines included)
/// a space, cut to at most `max` bytes at a character boundary (then ending in `…`).
pub(super) fn one_line(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len().min(max + 3));
    for c in text.chars() {
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// The first `max` bytes of `bytes` as lossy UTF-8 (a character the cut splits shows as
/// U+FFFD).
pub(super) fn cut(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]);
    text.into_owned()
}
