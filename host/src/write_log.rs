//! The write log: the ordered writes one call emitted (`docs/modes.md`, `docs/limits.md`).
//!
//! A call never touches the store directly. Each write import the guest calls
//! (`counter_add`, `map_put`, `map_remove`, `list_push`) appends one [`Op`] to the call's
//! [`WriteLog`]; when the call returns, its log moves downstream to [`crate::merge`] as a
//! value. A trapped call's log is dropped whole, so nothing here ever needs undoing.
//!
//! # Caps
//!
//! [`LogLimits`] caps a log at 16,384 ops and 4 MiB by default, both configurable. The cap
//! is checked *as the guest issues each op*, before the op is kept:
//!
//! - no coalescing happens first: a thousand `add(1)` to one counter are a thousand ops;
//! - the bytes counted are those of every name, key and value an op carries
//!   ([`Op::byte_len`]); a counter's `i64` delta is not counted.
//!
//! Going over either cap is a [`WriteLogError`], which the engine turns into a trap of that
//! call only. The cap on child calls (`call_pure`) is not this module's.

use thiserror::Error;

/// One write a call emitted. Names, keys and values are byte strings (`docs/modes.md`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `counter_add`: add `delta` to entry `key` of counter `name` (empty key: a plain counter).
    CounterAdd {
        /// The counter's name.
        name: Vec<u8>,
        /// The entry within the counter.
        key: Vec<u8>,
        /// The amount added; counters sum exactly as `i128`.
        delta: i64,
    },
    /// `map_put`: set `key` of map `name` to `value`.
    MapPut {
        /// The map's name.
        name: Vec<u8>,
        /// The key written.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
    /// `map_remove`: remove `key` from map `name` (a tombstone until merged).
    MapRemove {
        /// The map's name.
        name: Vec<u8>,
        /// The key removed.
        key: Vec<u8>,
    },
    /// `list_push`: append `value` to list `name`.
    ListPush {
        /// The list's name.
        name: Vec<u8>,
        /// The value appended.
        value: Vec<u8>,
    },
}

impl Op {
    /// The bytes this op counts against [`LogLimits::max_bytes`]: the lengths of its name,
    /// key and value added up. A counter's delta counts nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::Op;
    ///
    /// let op = Op::MapPut { name: b"users".to_vec(), key: b"ann".to_vec(), value: b"hi".to_vec() };
    /// assert_eq!(op.byte_len(), 5 + 3 + 2);
    /// ```
    pub fn byte_len(&self) -> usize {
        match self {
            Op::CounterAdd { name, key, .. } => name.len() + key.len(),
            Op::MapPut { name, key, value } => name.len() + key.len() + value.len(),
            Op::MapRemove { name, key } => name.len() + key.len(),
            Op::ListPush { name, value } => name.len() + value.len(),
        }
    }
}

/// Per-call caps on a [`WriteLog`] (`docs/limits.md`). [`Default`] gives 16,384 ops and 4 MiB.
///
/// Both caps are `u32`, so an op's index within its call, and the length of any name, key or
/// value, always fit a `u32`: [`crate::merge`] and [`crate::store`] rely on that.
///
/// # Examples
///
/// ```
/// use commute::write_log::LogLimits;
///
/// assert_eq!(LogLimits::default(), LogLimits { max_ops: 16_384, max_bytes: 4 << 20 });
/// let tight = LogLimits { max_ops: 10, ..LogLimits::default() };
/// assert_eq!(tight.max_bytes, 4 * 1024 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    /// The most ops one call may emit.
    pub max_ops: u32,
    /// The most bytes (names, keys and values, see [`Op::byte_len`]) one call may emit.
    pub max_bytes: u32,
}

impl LogLimits {
    /// The defaults of `docs/limits.md`: 16,384 ops, 4 MiB.
    pub const DEFAULT: LogLimits = LogLimits {
        max_ops: 16_384,
        max_bytes: 4 << 20,
    };
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits::DEFAULT
    }
}

/// A write went over a [`LogLimits`] cap; the call that issued it traps.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WriteLogError {
    /// The op would be one more than [`LogLimits::max_ops`].
    #[error("write log cap exceeded: op {op} is over the limit of {max} ops per call")]
    TooManyOps {
        /// The 1-based number of the refused op within its call.
        op: u64,
        /// The cap.
        max: u32,
    },
    /// The op would bring the log's bytes over [`LogLimits::max_bytes`].
    #[error(
        "write log cap exceeded: op {op} brings the log to {bytes} bytes, over the limit of {max} bytes per call"
    )]
    TooManyBytes {
        /// The 1-based number of the refused op within its call.
        op: u64,
        /// The log's bytes had the op been kept.
        bytes: u64,
        /// The cap.
        max: u32,
    },
}

/// The ordered ops one call emitted, within its [`LogLimits`].
///
/// # Invariants
///
/// - (A) `ops.len() <= limits.max_ops`, and so every op's index fits a `u32`.
/// - (B) `bytes` is the sum of [`Op::byte_len`] over `ops`, and `bytes <= limits.max_bytes`.
///
/// Both are kept by [`WriteLog::push`], the only way an op gets in. Two logs are equal when
/// their ops are; the limits they were built under do not take part.
///
/// # Examples
///
/// ```
/// use commute::write_log::{LogLimits, WriteLog};
///
/// let mut log = WriteLog::new(LogLimits { max_ops: 2, ..LogLimits::default() });
/// log.counter_add(b"views", b"/home", 1)?;
/// log.list_push(b"events", b"login")?;
/// let err = log.map_put(b"last", b"ann", b"login").unwrap_err();
/// assert_eq!(err.to_string(), "write log cap exceeded: op 3 is over the limit of 2 ops per call");
/// assert_eq!(log.len(), 2);
/// # Ok::<(), commute::write_log::WriteLogError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct WriteLog {
    ops: Vec<Op>,
    bytes: u64,
    limits: LogLimits,
}

impl PartialEq for WriteLog {
    fn eq(&self, other: &Self) -> bool {
        self.ops == other.ops
    }
}

impl Eq for WriteLog {}

impl WriteLog {
    /// An empty log that will hold at most `limits`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::{LogLimits, WriteLog};
    ///
    /// let log = WriteLog::new(LogLimits::default());
    /// assert!(log.is_empty());
    /// ```
    pub fn new(limits: LogLimits) -> Self {
        WriteLog {
            ops: Vec::new(),
            bytes: 0,
            limits,
        }
    }

    /// Whether one more op of `op_bytes` bytes would be accepted, without keeping anything.
    /// The engine calls this before copying a large name, key or value out of guest memory.
    ///
    /// # Errors
    ///
    /// The [`WriteLogError`] that [`WriteLog::push`] would return for such an op.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::{LogLimits, WriteLog};
    ///
    /// let log = WriteLog::new(LogLimits { max_ops: 8, max_bytes: 100 });
    /// assert!(log.check_next(100).is_ok());
    /// assert!(log.check_next(101).is_err());
    /// ```
    pub fn check_next(&self, op_bytes: usize) -> Result<(), WriteLogError> {
        let op = self.ops.len() as u64 + 1;
        if op > u64::from(self.limits.max_ops) {
            return Err(WriteLogError::TooManyOps {
                op,
                max: self.limits.max_ops,
            });
        }
        let bytes = self.bytes.saturating_add(op_bytes as u64);
        if bytes > u64::from(self.limits.max_bytes) {
            return Err(WriteLogError::TooManyBytes {
                op,
                bytes,
                max: self.limits.max_bytes,
            });
        }
        Ok(())
    }

    /// Appends `op` if it stays within the limits. A refused op leaves the log as it was.
    ///
    /// # Errors
    ///
    /// [`WriteLogError::TooManyOps`] or [`WriteLogError::TooManyBytes`] when `op` would go
    /// over a cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::{LogLimits, Op, WriteLog};
    ///
    /// let mut log = WriteLog::new(LogLimits::default());
    /// log.push(Op::ListPush { name: b"events".to_vec(), value: b"login".to_vec() })?;
    /// assert_eq!(log.ops().len(), 1);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn push(&mut self, op: Op) -> Result<(), WriteLogError> {
        let op_bytes = op.byte_len();
        // (A), (B): checked before the op is kept, with no coalescing first.
        self.check_next(op_bytes)?;
        self.bytes += op_bytes as u64;
        self.ops.push(op);
        Ok(())
    }

    /// Appends [`Op::CounterAdd`].
    ///
    /// # Errors
    ///
    /// As [`WriteLog::push`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.counter_add(b"views", b"", 1)?;
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn counter_add(
        &mut self,
        name: &[u8],
        key: &[u8],
        delta: i64,
    ) -> Result<(), WriteLogError> {
        self.push(Op::CounterAdd {
            name: name.to_vec(),
            key: key.to_vec(),
            delta,
        })
    }

    /// Appends [`Op::MapPut`].
    ///
    /// # Errors
    ///
    /// As [`WriteLog::push`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.map_put(b"last_event", b"ann", b"login")?;
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn map_put(&mut self, name: &[u8], key: &[u8], value: &[u8]) -> Result<(), WriteLogError> {
        self.push(Op::MapPut {
            name: name.to_vec(),
            key: key.to_vec(),
            value: value.to_vec(),
        })
    }

    /// Appends [`Op::MapRemove`].
    ///
    /// # Errors
    ///
    /// As [`WriteLog::push`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.map_remove(b"last_event", b"ann")?;
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn map_remove(&mut self, name: &[u8], key: &[u8]) -> Result<(), WriteLogError> {
        self.push(Op::MapRemove {
            name: name.to_vec(),
            key: key.to_vec(),
        })
    }

    /// Appends [`Op::ListPush`].
    ///
    /// # Errors
    ///
    /// As [`WriteLog::push`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.list_push(b"events", b"login")?;
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn list_push(&mut self, name: &[u8], value: &[u8]) -> Result<(), WriteLogError> {
        self.push(Op::ListPush {
            name: name.to_vec(),
            value: value.to_vec(),
        })
    }

    /// The ops in the order the call issued them.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::{Op, WriteLog};
    ///
    /// let mut log = WriteLog::default();
    /// log.map_remove(b"m", b"k")?;
    /// assert_eq!(log.ops(), &[Op::MapRemove { name: b"m".to_vec(), key: b"k".to_vec() }]);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Its ops, in order, given up: for a caller done with the log.
    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// The number of ops.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(commute::write_log::WriteLog::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the call emitted no write.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(commute::write_log::WriteLog::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The bytes counted so far against [`LogLimits::max_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::WriteLog;
    ///
    /// let mut log = WriteLog::default();
    /// log.list_push(b"events", b"login")?;
    /// assert_eq!(log.bytes(), 11);
    /// # Ok::<(), commute::write_log::WriteLogError>(())
    /// ```
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The limits this log is held to.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::write_log::{LogLimits, WriteLog};
    ///
    /// assert_eq!(WriteLog::default().limits(), LogLimits::default());
    /// ```
    pub fn limits(&self) -> LogLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod arbitrary {
    //! Generators for the laws of [`crate::merge`], [`crate::store`] and [`crate::root`]:
    //! names, keys and values come from tiny alphabets so that collisions are heavy.

    use super::{Op, WriteLog};
    use quickcheck::{Arbitrary, Gen};

    /// Names shared by counters, maps and lists.
    pub(crate) const NAMES: &[&[u8]] = &[b"a", b"b"];
    /// Keys, including the empty key and one key that is a prefix of another.
    pub(crate) const KEYS: &[&[u8]] = &[b"", b"k", b"k\0", b"l"];
    /// Values, including the empty value.
    pub(crate) const VALUES: &[&[u8]] = &[b"", b"1", b"22"];
    /// Counter deltas, including the extremes.
    pub(crate) const DELTAS: &[i64] = &[-2, -1, 1, 2, 3, i64::MIN, i64::MAX];

    pub(crate) fn pick<T: Copy>(g: &mut Gen, from: &[T]) -> T {
        *g.choose(from).expect("alphabets are not empty")
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut Gen) -> Self {
            let name = pick(g, NAMES).to_vec();
            let key = pick(g, KEYS).to_vec();
            let value = pick(g, VALUES).to_vec();
            match u8::arbitrary(g) % 4 {
                0 => Op::CounterAdd {
                    name,
                    key,
                    delta: pick(g, DELTAS),
                },
                1 => Op::MapPut { name, key, value },
                2 => Op::MapRemove { name, key },
                _ => Op::ListPush { name, value },
            }
        }
    }

    impl Arbitrary for WriteLog {
        fn arbitrary(g: &mut Gen) -> Self {
            let len = usize::arbitrary(g) % 7;
            let mut log = WriteLog::default();
            for _ in 0..len {
                log.push(Op::arbitrary(g))
                    .expect("far below the default caps");
            }
            log
        }

        fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
            Box::new(self.ops.clone().shrink().map(|ops| {
                let mut log = WriteLog::default();
                for op in ops {
                    log.push(op).expect("a shrunk log is smaller");
                }
                log
            }))
        }
    }
}
