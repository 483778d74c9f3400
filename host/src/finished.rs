//! Which accepted calls have finished: every seq up to a watermark, and runs of seqs above
//! it. Rounds commit each canister's calls in seq order, but one canister's backlog does
//! not hold another's (`round`'s invariant A), so a call may finish while an earlier call
//! of another canister is still pending: it finishes *ahead* of the watermark.
//!
//! Durable in the store as `m last_seq` (the watermark) and `m ahead` (the runs), written
//! in every round's journal; in memory a few ranges, since the calls that finish ahead come
//! in runs between the calls of a backlogged canister.
//!
//! # Invariants
//!
//! - (A) A seq has finished iff it is ≤ the watermark or inside a run.
//! - (B) Canonical: runs lie above the watermark + 1, do not touch one another, and the
//!   watermark is as high as (A) allows. So two sets holding the same seqs are equal, and
//!   finishing seqs in any order or grouping gives the same set.

use std::collections::BTreeMap;

/// The finished seqs; see the module doc. Seq 0 is never a call's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finished {
    /// Every seq in `1..=last` has finished.
    last: u64,
    /// Runs of finished seqs above `last + 1`: start → end, inclusive.
    ahead: BTreeMap<u64, u64>,
}

impl Finished {
    /// Every seq up to `last`, none above.
    pub fn through(last: u64) -> Finished {
        Finished {
            last,
            ahead: BTreeMap::new(),
        }
    }

    /// The watermark: every seq at or below it has finished.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Whether `seq` has finished (invariant A).
    ///
    /// ```
    /// use commute::finished::Finished;
    ///
    /// let mut f = Finished::through(3);
    /// f.finish([7, 5, 6]);
    /// assert!(f.contains(3) && f.contains(6) && !f.contains(4) && !f.contains(8));
    /// f.finish([4]);
    /// assert_eq!((f.last(), f.ahead()), (7, 0));
    /// ```
    pub fn contains(&self, seq: u64) -> bool {
        seq <= self.last
            || self
                .ahead
                .range(..=seq)
                .next_back()
                .is_some_and(|(_, end)| seq <= *end)
    }

    /// How many seqs above the watermark have finished.
    pub fn ahead(&self) -> u64 {
        self.ahead.iter().map(|(start, end)| end - start + 1).sum()
    }

    /// How many seqs have finished: those up to the watermark and those ahead of it.
    pub fn count(&self) -> u64 {
        self.last + self.ahead()
    }

    /// The highest finished seq.
    pub fn max(&self) -> u64 {
        self.ahead
            .last_key_value()
            .map_or(self.last, |(_, end)| *end)
    }

    /// Marks `seqs` finished, keeping the set canonical (invariant B).
    pub fn finish(&mut self, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            self.finish_one(seq);
        }
    }

    /// Marks every seq up to `seq` finished.
    ///
    /// ```
    /// use commute::finished::Finished;
    ///
    /// let mut f = Finished::through(1);
    /// f.finish([4, 9]);
    /// f.finish_through(5);
    /// assert_eq!((f.last(), f.ahead(), f.contains(9)), (5, 1, true));
    /// ```
    pub fn finish_through(&mut self, seq: u64) {
        if seq <= self.last {
            return;
        }
        self.last = seq;
        let below: Vec<u64> = self.ahead.range(..=seq + 1).map(|(s, _)| *s).collect();
        for start in below {
            if let Some(end) = self.ahead.remove(&start) {
                self.last = self.last.max(end);
            }
        }
    }

    fn finish_one(&mut self, seq: u64) {
        if self.contains(seq) {
            return;
        }
        let (mut start, mut end) = (seq, seq);
        // Join the run that ends just below, and the one that starts just above.
        if let Some((&s, &e)) = self.ahead.range(..seq).next_back() {
            if e + 1 == seq {
                self.ahead.remove(&s);
                start = s;
            }
        }
        if let Some(e) = self.ahead.remove(&(seq + 1)) {
            end = e;
        }
        if start == self.last + 1 {
            self.last = end;
        } else {
            self.ahead.insert(start, end);
        }
    }

    /// The runs as stored under `m ahead`: (start, end) pairs, u64 BE each.
    pub(crate) fn encode_ahead(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.ahead.len() * 16);
        for (start, end) in &self.ahead {
            bytes.extend_from_slice(&start.to_be_bytes());
            bytes.extend_from_slice(&end.to_be_bytes());
        }
        bytes
    }

    /// The set of watermark `last` and the runs `ahead` stored as [`Finished::encode_ahead`]
    /// wrote them; `None` if they are not canonical runs above it (invariant B).
    pub(crate) fn decode(last: u64, ahead: &[u8]) -> Option<Finished> {
        if !ahead.len().is_multiple_of(16) {
            return None;
        }
        let mut runs = BTreeMap::new();
        let mut floor = last.checked_add(1)?;
        for pair in ahead.chunks_exact(16) {
            let start = u64::from_be_bytes(pair[..8].try_into().ok()?);
            let end = u64::from_be_bytes(pair[8..].try_into().ok()?);
            if start <= floor || end < start {
                return None;
            }
            floor = end.checked_add(1)?;
            runs.insert(start, end);
        }
        Some(Finished { last, ahead: runs })
    }
}

#[cfg(test)]
mod tests {
    use super::Finished;
    use quickcheck::quickcheck;
    use std::collections::BTreeSet;

    /// The model: a plain set of seqs (small, so that runs touch and join).
    fn model(start: u8, seqs: &[u8]) -> BTreeSet<u64> {
        (1..=u64::from(start % 16))
            .chain(seqs.iter().map(|s| 1 + u64::from(s % 48)))
            .collect()
    }

    fn built(start: u8, seqs: &[u8]) -> Finished {
        let mut f = Finished::through(u64::from(start % 16));
        f.finish(seqs.iter().map(|s| 1 + u64::from(s % 48)));
        f
    }

    quickcheck! {
        /// (A): a seq is in iff the model holds it; the watermark is the model's longest
        /// prefix, and the count above it is the rest.
        fn prop_finished_holds_exactly_the_seqs_finished(start: u8, seqs: Vec<u8>) -> bool {
            let (f, m) = (built(start, &seqs), model(start, &seqs));
            let prefix = (1..).take_while(|s| m.contains(s)).count() as u64;
            (0..64).all(|s| f.contains(s) == (s == 0 || m.contains(&s)))
                && f.last() == prefix
                && f.ahead() == m.len() as u64 - prefix
                && f.count() == m.len() as u64
                && f.max() == m.last().copied().unwrap_or(0)
        }

        /// (B): finishing in another order, or in two groups, gives the same set; and what
        /// is stored decodes to it.
        fn prop_finished_is_canonical_whatever_the_order(start: u8, seqs: Vec<u8>, cut: usize) -> bool {
            let f = built(start, &seqs);
            let mut reversed: Vec<u8> = seqs.clone();
            reversed.reverse();
            let mut split = Finished::through(u64::from(start % 16));
            let cut = cut % (seqs.len() + 1);
            split.finish(seqs[cut..].iter().map(|s| 1 + u64::from(s % 48)));
            split.finish(seqs[..cut].iter().map(|s| 1 + u64::from(s % 48)));
            f == built(start, &reversed)
                && f == split
                && Finished::decode(f.last(), &f.encode_ahead()) == Some(f.clone())
        }
    }

    #[test]
    fn runs_that_are_not_canonical_do_not_decode() {
        let pair = |a: u64, b: u64| [a.to_be_bytes(), b.to_be_bytes()].concat();
        assert_eq!(
            Finished::decode(3, &pair(4, 6)),
            None,
            "touches the watermark"
        );
        assert_eq!(
            Finished::decode(3, &pair(7, 6)),
            None,
            "ends before it starts"
        );
        let touching = [pair(5, 6), pair(7, 9)].concat();
        assert_eq!(Finished::decode(3, &touching), None, "runs that touch");
        assert_eq!(Finished::decode(3, &[0; 15]), None);
        assert!(Finished::decode(3, &[pair(5, 6), pair(8, 9)].concat()).is_some());
    }
}
