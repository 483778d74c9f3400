//! Byte offsets into a `.did` file, turned into the `LINE:COL` that editors jump to.

use std::fmt;

/// A 1-based line and column in a source file; the column counts characters, not bytes.
///
/// # Examples
///
/// ```
/// use commute_did::Position;
///
/// let src = "service : {\n  é : () -> ();\n}";
/// let at = src.find("()").unwrap();
/// assert_eq!(Position::of(src, at), Position { line: 2, col: 7 });
/// assert_eq!(Position::of(src, at).to_string(), "2:7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl Position {
    /// The position of byte `offset` in `src`. Offsets past the end, or inside a multi-byte
    /// character, are clamped to the nearest character boundary before it.
    pub fn of(src: &str, offset: usize) -> Position {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        Position {
            line: before.matches('\n').count() + 1,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}
