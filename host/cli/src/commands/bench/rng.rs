//! Seeded, deterministic randomness for the benchmark's inputs: a SplitMix64 generator and
//! a Zipf sampler.
//!
//! Inputs must be the same in every run and for every thread count, so nothing here reads
//! the clock or the OS's entropy.

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state, one multiply-xorshift output
/// per step; small, fast and good enough to draw benchmark keys.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`, from the top 53 bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform number in `[0, n)`; `n` must be positive. (Lemire's multiply-shift: the
    /// bias is below 2^-32 for the sizes drawn here.)
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Zipf's law over ranks `0..n`: rank `k` is drawn with probability proportional to
/// `1 / (k + 1)^s`. Sampling inverts the cumulative distribution, tabulated once: O(n)
/// memory, O(log n) per draw, exact up to floating point.
#[derive(Debug, Clone)]
pub(crate) struct Zipf {
    /// `cdf[k]`: the probability of a rank ≤ k; the last is 1.
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks with exponent `s`.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub(crate) fn new(n: usize, s: f64) -> Zipf {
        assert!(n > 0, "Zipf needs at least one rank");
        let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        // Rounding may leave the sum a hair under 1; a draw must always find a rank.
        *cdf.last_mut().expect("n > 0") = 1.0;
        Zipf { cdf }
    }

    /// The number of ranks.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cdf.len()
    }

    /// The probability of rank `k`.
    #[cfg(test)]
    pub(crate) fn probability(&self, k: usize) -> f64 {
        self.cdf[k] - if k == 0 { 0.0 } else { self.cdf[k - 1] }
    }

    /// A rank in `0..n`, drawn with `rng`.
    pub(crate) fn sample(&self, rng: &mut SplitMix64) -> usize {
        let u = rng.next_f64();
        // The first rank whose cumulative probability exceeds u.
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }
}
