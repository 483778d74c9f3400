//! Plain values read straight off the wire (interface invariant C).
//!
//! Most calls a host takes are logging calls: a principal, a text, a number. Checking one
//! with candid's decoder builds a value tree only to drop it, and that was half of what
//! accepting a call cost (`Interface::decode_binary`, 0.4 of 0.6 µs a logging call). When a
//! message carries the declared types' own header and every argument is of a type listed
//! here, its values are read in place instead: a length, a flag, UTF-8.
//!
//! A scan is sure or it gives up. It accepts only encodings that candid's decoder accepts
//! and that candid writes itself (minimal LEB128, a principal's one-byte length), so a value
//! it accepts is byte for byte its canonical encoding, which a key needs (invariant B).
//! Anything else — a truncated message, invalid UTF-8, an overlong length — it leaves to
//! the decoder, which either accepts it too or says what is wrong.

use candid::types::{Type, TypeInner};

/// What candid charges at least to decode a principal, in its quota's units: 30 (its
/// floor), times 50 while decoding values of no static Rust type (`de.rs`). Every other
/// plain value costs at most 50 a byte, less than the 64 a byte the quota grants, so a
/// principal is the one value that can cost more than its bytes bring.
pub(super) const PRINCIPAL_COST: usize = 30 * 50;

/// Whether a method with these plain argument types may be scanned: its principals alone
/// stay within `budget`, the part of the decoding quota that does not grow with the
/// message. Past that, candid's decoder could refuse a message of short principals for
/// its cost, which a scan would accept (law `a_call_too_costly_for_the_decoder_is_never_scanned`).
pub(super) fn within_quota(args: &[Plain], budget: usize) -> bool {
    let principals = args.iter().filter(|p| **p == Plain::Principal).count();
    principals.saturating_mul(PRINCIPAL_COST) <= budget
}

/// A type whose values a scan reads: each is one self-delimiting run of bytes, the same
/// whatever type it is annotated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plain {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `nat`: unsigned LEB128.
    Nat,
    /// `int`: signed LEB128.
    Int,
    /// `nat8` … `nat64`, `int8` … `int64`: this many little-endian bytes.
    Fixed(usize),
    /// `text`: a LEB128 length, then UTF-8.
    Text,
    /// `principal`: 1 (not opaque), a length of at most 29, the bytes.
    Principal,
}

/// The longest principal candid decodes.
const PRINCIPAL_BYTES: u8 = 29;

impl Plain {
    /// The plain type `ty` is, if it is one written out (a name for one, `type N = nat`,
    /// takes the decoder: a key of it has no cached header, see `plain_key`).
    pub(super) fn of(ty: &Type) -> Option<Plain> {
        Some(match ty.as_ref() {
            TypeInner::Bool => Plain::Bool,
            TypeInner::Nat => Plain::Nat,
            TypeInner::Int => Plain::Int,
            TypeInner::Nat8 | TypeInner::Int8 => Plain::Fixed(1),
            TypeInner::Nat16 | TypeInner::Int16 => Plain::Fixed(2),
            TypeInner::Nat32 | TypeInner::Int32 => Plain::Fixed(4),
            TypeInner::Nat64 | TypeInner::Int64 => Plain::Fixed(8),
            TypeInner::Text => Plain::Text,
            TypeInner::Principal => Plain::Principal,
            _ => return None,
        })
    }

    /// The length of the value of this type at the start of `bytes`, if it is there whole,
    /// valid and canonically encoded; `None` if any of that is in doubt.
    ///
    /// ```text
    /// Text, b"\x02hi…"        → Some(3)
    /// Text, b"\x82\x00hi"     → None (an overlong length: the decoder's to judge)
    /// ```
    pub(super) fn scan(self, bytes: &[u8]) -> Option<usize> {
        match self {
            Plain::Bool => matches!(bytes.first(), Some(0 | 1)).then_some(1),
            Plain::Nat => leb128(bytes, false),
            Plain::Int => leb128(bytes, true),
            Plain::Fixed(n) => (bytes.len() >= n).then_some(n),
            Plain::Text => {
                let len_bytes = leb128(bytes, false)?;
                let len = usize::try_from(uleb_value(&bytes[..len_bytes])?).ok()?;
                let end = len_bytes.checked_add(len)?;
                std::str::from_utf8(bytes.get(len_bytes..end)?).ok()?;
                Some(end)
            }
            Plain::Principal => match bytes {
                [1, len, ..] if *len <= PRINCIPAL_BYTES => {
                    let end = 2 + usize::from(*len);
                    (bytes.len() >= end).then_some(end)
                }
                _ => None,
            },
        }
    }
}

/// The length of the minimal LEB128 number (signed if `signed`) at the start of `bytes`,
/// `None` if it is cut short or has a byte too many (which candid never writes).
fn leb128(bytes: &[u8], signed: bool) -> Option<usize> {
    let len = bytes.iter().position(|b| b & 0x80 == 0)? + 1;
    if len == 1 {
        return Some(1);
    }
    let (last, before) = (bytes[len - 1], bytes[len - 2]);
    let redundant = if signed {
        // A last byte that only repeats the sign the one before it already gave.
        (last == 0x00 && before & 0x40 == 0) || (last == 0x7f && before & 0x40 != 0)
    } else {
        last == 0
    };
    (!redundant).then_some(len)
}

/// The value of the unsigned LEB128 number `bytes`, if it fits a `u64`.
fn uleb_value(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 10 {
        return None;
    }
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        let bits = u64::from(b & 0x7f);
        let shifted = bits.checked_shl(7 * i as u32)?;
        if shifted >> (7 * i as u32) != bits {
            return None;
        }
        value |= shifted;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::{leb128, Plain};
    use candid::types::TypeInner;
    use candid::{Int, Nat, Principal};

    /// The value's bytes in candid's own encoding of it alone: what follows the header.
    fn value_of<T: candid::CandidType>(value: T) -> (Plain, Vec<u8>) {
        let ty = T::ty();
        let bytes = candid::encode_one(value).unwrap();
        // `DIDL`, an empty type table, one argument, its type: all one byte each here.
        let value = bytes[7..].to_vec();
        (Plain::of(&ty).expect("a plain type"), value)
    }

    /// Law: a scan reads exactly the value candid wrote, whatever comes after it, for every
    /// plain type.
    #[test]
    fn prop_a_scan_reads_exactly_what_candid_writes() {
        fn prop(p: Vec<u8>, t: String, b: bool, n: u128, i: i128, f: (u8, i16, u32, i64)) -> bool {
            let principal = Principal::from_slice(&p[..p.len().min(29)]);
            let values = [
                value_of(principal),
                value_of(&t),
                value_of(b),
                value_of(Nat::from(n)),
                value_of(Int::from(i)),
                value_of(f.0),
                value_of(f.1),
                value_of(f.2),
                value_of(f.3),
            ];
            values.iter().all(|(plain, bytes)| {
                let mut followed = bytes.clone();
                followed.extend_from_slice(&[0x80, 0xff, 0x00]);
                plain.scan(bytes) == Some(bytes.len())
                    && plain.scan(&followed) == Some(bytes.len())
                    && (0..bytes.len()).all(|cut| plain.scan(&bytes[..cut]).is_none())
            })
        }
        quickcheck::QuickCheck::new()
            .tests(300)
            .quickcheck(prop as fn(Vec<u8>, String, bool, u128, i128, (u8, i16, u32, i64)) -> bool);
    }

    #[test]
    fn overlong_numbers_and_lengths_are_left_to_the_decoder() {
        assert_eq!(leb128(&[0x80, 0x00], false), None);
        assert_eq!(leb128(&[0xff, 0x00], false), None);
        assert_eq!(leb128(&[0xff, 0x01], false), Some(2));
        assert_eq!(leb128(&[0x00], true), Some(1));
        // 63 needs no second byte; 64 does (its sign bit).
        assert_eq!(leb128(&[0xbf, 0x00], true), None);
        assert_eq!(leb128(&[0xc0, 0x00], true), Some(2));
        assert_eq!(leb128(&[0xc0, 0x7f], true), None);
        assert_eq!(leb128(&[0xbf, 0x7f], true), Some(2));
        assert_eq!(Plain::Text.scan(&[0x82, 0x00, b'h', b'i']), None);
        assert_eq!(Plain::Text.scan(&[2, 0xff, 0xfe]), None, "not UTF-8");
        assert_eq!(Plain::Principal.scan(&[0, 0]), None, "opaque");
        assert_eq!(Plain::Principal.scan(&[1, 30]), None);
        assert_eq!(Plain::Bool.scan(&[2]), None);
        assert_eq!(Plain::of(&TypeInner::Float64.into()), None);
    }
}
