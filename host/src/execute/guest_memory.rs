//! Bounds-checked ranges of guest memory (invariant (G) of [`crate::execute`]).
//!
//! Every pointer and length an import receives is an `i32` that wasm means as a `u32`
//! (`docs/guest-abi.md`: "pointers and lengths are `i32` offsets into memory 0").
//! [`GuestRange::new`] turns such a pair into a byte range and checks it against the
//! memory's current size, with checked arithmetic, before anything is read or written; a
//! range that does not fit is a [`OutOfBounds`] and the import traps with its message.

use std::ops::Range;

use super::message::Who;

/// A range of guest memory that was within bounds when it was checked. Memory only
/// grows during a call, so it stays within bounds for the rest of the import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GuestRange(Range<usize>);

/// A pointer and length that do not fit the memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OutOfBounds {
    /// The pointer, as the guest meant it.
    pub(super) ptr: u32,
    /// The length, as the guest meant it.
    pub(super) len: u32,
    /// The memory's size in bytes.
    pub(super) memory: usize,
}

impl OutOfBounds {
    /// `{who} passed ic0.trap an out-of-bounds range: 10 bytes at 65530, memory is 65536 bytes`.
    pub(super) fn message(&self, who: Who<'_>, import: &str) -> String {
        let OutOfBounds { ptr, len, memory } = *self;
        format!(
            "{who} passed {import} an out-of-bounds range: {len} bytes at {ptr}, memory is {memory} bytes"
        )
    }
}

impl GuestRange {
    /// `[ptr, ptr + len)` if it lies within a memory of `memory` bytes.
    pub(super) fn new(ptr: i32, len: i32, memory: usize) -> Result<GuestRange, OutOfBounds> {
        // Wasm pointers and lengths are unsigned 32-bit: reinterpret, never sign-extend.
        let (ptr, len) = (ptr as u32, len as u32);
        let start = ptr as usize;
        match start.checked_add(len as usize) {
            Some(end) if end <= memory => Ok(GuestRange(start..end)),
            _ => Err(OutOfBounds { ptr, len, memory }),
        }
    }

    /// The checked range, to index the memory's bytes with.
    pub(super) fn get(&self) -> Range<usize> {
        self.0.clone()
    }

    /// Its length in bytes.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{GuestRange, OutOfBounds};

    #[test]
    fn within_bounds() {
        assert_eq!(GuestRange::new(0, 0, 0).unwrap().get(), 0..0);
        assert_eq!(GuestRange::new(10, 6, 16).unwrap().get(), 10..16);
        assert_eq!(GuestRange::new(16, 0, 16).unwrap().len(), 0);
    }

    #[test]
    fn out_of_bounds() {
        assert!(GuestRange::new(10, 7, 16).is_err());
        assert!(GuestRange::new(17, 0, 16).is_err());
        let err = GuestRange::new(-1, 2, 65536).unwrap_err();
        assert_eq!(
            err,
            OutOfBounds {
                ptr: u32::MAX,
                len: 2,
                memory: 65536
            }
        );
        assert!(GuestRange::new(1, -1, 65536).is_err());
        assert!(GuestRange::new(i32::MAX, i32::MAX, usize::MAX).is_ok());
        assert_eq!(
            err.message(super::super::message::who(commute_abi::Mode::Query, "q"), "ic0.trap"),
            "query `q` passed ic0.trap an out-of-bounds range: 2 bytes at 4294967295, memory is 65536 bytes"
        );
    }
}
