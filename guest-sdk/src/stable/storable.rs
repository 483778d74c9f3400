//! [`Storable`]: how keys and values become the bytes the host stores.
//!
//! The trait is stable-structures' own. The encodings chosen here keep *byte order equal
//! to value order* wherever that is cheap, because maps iterate keys in byte order:
//! unsigned integers are big-endian, signed integers are big-endian with the sign bit
//! flipped (so -1 sorts before 0), strings are their UTF-8 bytes.
//!
//! ```
//! use std::borrow::Cow;
//! use commute_cdk::stable::Storable;
//!
//! let mut keys = vec![5i32, -3, 0, i32::MIN];
//! keys.sort_by(|a, b| a.to_bytes().cmp(&b.to_bytes()));
//! assert_eq!(keys, [i32::MIN, -3, 0, 5]);
//! assert_eq!(i32::from_bytes(Cow::Owned((-3i32).into_bytes())), -3);
//! ```

use std::borrow::Cow;

use candid::{CandidType, Principal};
use serde::de::DeserializeOwned;

/// How large a type's encoding can be. The same as stable-structures'; commute uses it
/// only to size read buffers.
///
/// ```
/// use commute_cdk::stable::{Bound, Storable};
///
/// assert_eq!(u64::BOUND, Bound::Bounded { max_size: 8, is_fixed_size: true });
/// assert_eq!(String::BOUND, Bound::Unbounded);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// No known limit.
    Unbounded,
    /// At most `max_size` bytes, exactly that many if `is_fixed_size`.
    Bounded {
        /// The largest encoding, in bytes.
        max_size: u32,
        /// Whether every encoding has `max_size` bytes.
        is_fixed_size: bool,
    },
}

impl Bound {
    /// The largest encoding in bytes, if bounded.
    ///
    /// ```
    /// use commute_cdk::{stable::Storable, Principal};
    ///
    /// assert_eq!(Principal::BOUND.max_size(), Some(29));
    /// ```
    pub const fn max_size(&self) -> Option<u32> {
        match self {
            Bound::Unbounded => None,
            Bound::Bounded { max_size, .. } => Some(*max_size),
        }
    }
}

/// A type that can be a key or value of the [stable structures](crate::stable).
///
/// The same trait as stable-structures 0.7 (`to_bytes`, `into_bytes`, `from_bytes`,
/// `BOUND`). `from_bytes` receives only bytes some `to_bytes` produced; it may panic on
/// anything else (which traps the call).
///
/// Implemented for `()`, `bool`, the integers, `String`, `Vec<u8>`, `[u8; N]`,
/// [`Principal`], and [`Candid<T>`] for any Candid type. Implement it for your own types
/// with [`candid_storable!`](crate::candid_storable) or by hand.
///
/// ```
/// use std::borrow::Cow;
/// use commute_cdk::stable::{Bound, Storable};
///
/// struct Celsius(i16);
///
/// impl Storable for Celsius {
///     fn to_bytes(&self) -> Cow<'_, [u8]> {
///         Cow::Owned(self.0.to_bytes().into_owned())
///     }
///     fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
///         Celsius(i16::from_bytes(bytes))
///     }
///     const BOUND: Bound = i16::BOUND;
/// }
///
/// assert_eq!(Celsius::from_bytes(Celsius(-4).to_bytes()).0, -4);
/// ```
pub trait Storable {
    /// The encoding.
    fn to_bytes(&self) -> Cow<'_, [u8]>;

    /// The encoding, consuming the value (saves a copy where the value owns its bytes).
    fn into_bytes(self) -> Vec<u8>
    where
        Self: Sized,
    {
        self.to_bytes().into_owned()
    }

    /// The value back from its encoding.
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self;

    /// How large the encoding can be.
    const BOUND: Bound;
}

impl Storable for () {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&[])
    }
    fn from_bytes(_: Cow<'_, [u8]>) -> Self {}
    const BOUND: Bound = Bound::Bounded {
        max_size: 0,
        is_fixed_size: true,
    };
}

impl Storable for bool {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(vec![u8::from(*self)])
    }
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        match bytes.as_ref() {
            [0] => false,
            [1] => true,
            other => panic!("not a stored bool: {other:?}"),
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 1,
        is_fixed_size: true,
    };
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Storable for $t {
            fn to_bytes(&self) -> Cow<'_, [u8]> {
                Cow::Owned(self.to_be_bytes().to_vec())
            }
            fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
                let array = bytes.as_ref().try_into().unwrap_or_else(|_| {
                    panic!("not a stored {}: {} bytes", stringify!($t), bytes.len())
                });
                <$t>::from_be_bytes(array)
            }
            const BOUND: Bound = Bound::Bounded {
                max_size: std::mem::size_of::<$t>() as u32,
                is_fixed_size: true,
            };
        }
    )*};
}

unsigned!(u8, u16, u32, u64, u128);

/// Signed integers: big-endian with the sign bit flipped, so byte order is numeric order.
macro_rules! signed {
    ($($t:ty => $u:ty),*) => {$(
        impl Storable for $t {
            fn to_bytes(&self) -> Cow<'_, [u8]> {
                let flipped = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                Cow::Owned(flipped.to_be_bytes().to_vec())
            }
            fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
                let flipped = <$u>::from_bytes(bytes);
                (flipped ^ (1 << (<$u>::BITS - 1))) as $t
            }
            const BOUND: Bound = <$u>::BOUND;
        }
    )*};
}

signed!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

impl Storable for String {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        self.into()
    }
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        String::from_utf8(bytes.into_owned()).unwrap_or_else(|e| panic!("not a stored String: {e}"))
    }
    const BOUND: Bound = Bound::Unbounded;
}

impl Storable for Vec<u8> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
    fn into_bytes(self) -> Vec<u8> {
        self
    }
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        bytes.into_owned()
    }
    const BOUND: Bound = Bound::Unbounded;
}

impl<const N: usize> Storable for [u8; N] {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        bytes
            .as_ref()
            .try_into()
            .unwrap_or_else(|_| panic!("not a stored [u8; {N}]: {} bytes", bytes.len()))
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: N as u32,
        is_fixed_size: true,
    };
}

/// A principal's raw bytes (at most 29).
impl Storable for Principal {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_slice())
    }
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        Principal::try_from_slice(&bytes).unwrap_or_else(|e| panic!("not a stored Principal: {e}"))
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 29,
        is_fixed_size: false,
    };
}

/// Any Candid type, stored as its Candid encoding (one value). Byte order of the encoding
/// is not value order: use it for values, or for keys only looked up, not ranged over.
///
/// ```
/// use commute_cdk::stable::{Candid, Map};
/// use commute_cdk::{CandidType, Deserialize};
///
/// #[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
/// struct Transfer { amount: u64, memo: String }
///
/// let transfers: Map<u64, Candid<Transfer>> = Map::init("transfers");
/// transfers.insert(1, Candid(Transfer { amount: 5, memo: "rent".into() }));
/// assert_eq!(transfers.get(&1).unwrap().0.amount, 5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candid<T>(pub T);

impl<T: CandidType + DeserializeOwned> Storable for Candid<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode_candid(&self.0))
    }
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        Candid(decode_candid(&bytes))
    }
    const BOUND: Bound = Bound::Unbounded;
}

/// Encodes one Candid value, for [`Candid`] and [`candid_storable!`](crate::candid_storable).
///
/// # Panics
///
/// If the value does not encode (it traps the call on wasm).
///
/// ```
/// let bytes = commute_cdk::stable::encode_candid(&7u8);
/// assert_eq!(commute_cdk::stable::decode_candid::<u8>(&bytes), 7);
/// ```
pub fn encode_candid<T: CandidType>(value: &T) -> Vec<u8> {
    candid::encode_one(value).unwrap_or_else(|e| {
        panic!(
            "{} does not encode as Candid: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Decodes one Candid value, for [`Candid`] and [`candid_storable!`](crate::candid_storable).
///
/// # Panics
///
/// If the bytes do not decode as `T` (it traps the call on wasm).
///
/// ```
/// let bytes = commute_cdk::stable::encode_candid(&"x".to_string());
/// assert_eq!(commute_cdk::stable::decode_candid::<String>(&bytes), "x");
/// ```
pub fn decode_candid<T: CandidType + DeserializeOwned>(bytes: &[u8]) -> T {
    candid::decode_one(bytes).unwrap_or_else(|e| {
        panic!(
            "stored bytes do not decode as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Implements [`Storable`] for your Candid types, stored as their Candid encoding (see
/// [`Candid`] for the caveat on key order).
///
/// ```
/// use commute_cdk::stable::List;
/// use commute_cdk::{candid_storable, CandidType, Deserialize};
///
/// #[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
/// struct Event { user: String, text: String }
///
/// candid_storable!(Event);
///
/// let events: List<Event> = List::init("events");
/// events.push(&Event { user: "ann".into(), text: "hi".into() });
/// assert_eq!(events.get(0).unwrap().text, "hi");
/// ```
#[macro_export]
macro_rules! candid_storable {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::stable::Storable for $t {
            fn to_bytes(&self) -> ::std::borrow::Cow<'_, [u8]> {
                ::std::borrow::Cow::Owned($crate::stable::encode_candid(self))
            }
            fn from_bytes(bytes: ::std::borrow::Cow<'_, [u8]>) -> Self {
                $crate::stable::decode_candid(&bytes)
            }
            const BOUND: $crate::stable::Bound = $crate::stable::Bound::Unbounded;
        }
    )+};
}
