//! How long a host's rounds spend split across its pool outside their calls.
//!
//! Merging a round's write logs, preparing its commit (old values, digests) and applying
//! it to the resident state each run as one parallel job on the worker pool. What is
//! left of a round besides them and its calls (the take, the DAG, the journal, the wait on
//! the flush) runs on one thread at a time. `commute bench` needs the two apart to put a
//! ceiling on the speedup (`amdahl_ceiling`), so the host keeps the sum of those jobs'
//! wall times, less what a job spent waiting on the disk ([`PoolTime::waited`]): the apply
//! waits for the end of the flush it overlaps. Parts of a job that run on one thread (a
//! checkpoint the apply writes) stay in the sum; the bench tells them apart by timing the
//! jobs at two thread counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The summed wall time of the jobs a host ran through [`PoolTime::install`].
#[derive(Debug, Default)]
pub struct PoolTime(AtomicU64);

impl PoolTime {
    /// Runs `job` on `pool` and adds its wall time to the sum.
    pub fn install<R: Send>(&self, pool: &rayon::ThreadPool, job: impl FnOnce() -> R + Send) -> R {
        let started = Instant::now();
        let result = pool.install(job);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(nanos, Ordering::Relaxed);
        result
    }

    /// Takes `wait` back out of the sum: time a job spent waiting on something other than
    /// the pool (the disk), which no thread count shortens.
    pub fn waited(&self, wait: Duration) {
        let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        let _ = (self.0).fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sum| {
            Some(sum.saturating_sub(nanos))
        });
    }

    /// The sum so far.
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::PoolTime;
    use std::time::{Duration, Instant};

    /// Keeps a worker busy until `d` has passed, so the job's wall time is at least `d`.
    fn busy(d: Duration) -> u64 {
        let started = Instant::now();
        let mut spins = 0u64;
        while started.elapsed() < d {
            spins += 1;
        }
        spins
    }

    #[test]
    fn the_sum_holds_every_job_s_wall_time_less_its_waits() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let time = PoolTime::default();
        assert_eq!(time.total(), Duration::ZERO);
        let spins = time.install(&pool, || busy(Duration::from_millis(3)));
        assert!(spins > 0);
        let after_one = time.total();
        assert!(after_one >= Duration::from_millis(3), "{after_one:?}");
        time.install(&pool, || busy(Duration::from_millis(2)));
        let after_two = time.total();
        assert!(after_two >= after_one + Duration::from_millis(2));
        time.waited(Duration::from_millis(1));
        assert_eq!(time.total(), after_two - Duration::from_millis(1));
        time.waited(after_two);
        assert_eq!(time.total(), Duration::ZERO, "never below zero");
    }
}
