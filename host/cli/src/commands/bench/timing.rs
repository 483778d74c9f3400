//! Side-by-side timing: subjects run interleaved, reduced with medians.

use std::time::Duration;

/// One run of one subject: which subject, and in which repetition (`None`: the untimed
/// warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Turn {
    /// The subject's index.
    pub(crate) subject: usize,
    /// The repetition, from 0; `None` for the warm-up.
    pub(crate) rep: Option<usize>,
}

/// Runs each of `subjects` once untimed (warm-up), then `reps` repetitions in which every
/// subject runs once, starting each repetition at the next subject (A B C, B C A, C A B, …)
/// so that no subject always runs first or last while the machine's load drifts. `run`
/// runs one [`Turn`] and returns its duration (it times itself, so it can leave its setup
/// out). Returns `times[subject][rep]`.
///
/// # Errors
///
/// The first error `run` returns.
pub(crate) fn interleave<E>(
    reps: usize,
    subjects: usize,
    mut run: impl FnMut(Turn) -> Result<Duration, E>,
) -> Result<Vec<Vec<Duration>>, E> {
    for subject in 0..subjects {
        run(Turn { subject, rep: None })?;
    }
    let mut times = vec![Vec::with_capacity(reps); subjects];
    for rep in 0..reps {
        for j in 0..subjects {
            let subject = (rep + j) % subjects;
            times[subject].push(run(Turn {
                subject,
                rep: Some(rep),
            })?);
        }
    }
    Ok(times)
}

/// The median of `times` (the mean of the two middle ones for an even count); zero if
/// empty.
pub(crate) fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => Duration::ZERO,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The median of plain numbers, as [`median`].
pub(crate) fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `d` in milliseconds, rounded to microseconds, for the JSON lines.
pub(crate) fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e3, 3)
}

/// `x` rounded to `digits` decimals, for the JSON lines.
pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// `calls` in `d`, per second, rounded to a whole call, for the JSON lines.
pub(crate) fn per_s(calls: usize, d: Duration) -> f64 {
    round(calls as f64 / d.as_secs_f64().max(1e-9), 0)
}

/// How many times faster `fast` is than `slow` (`slow ÷ fast`), to 3 decimals.
pub(crate) fn speedup(slow: Duration, fast: Duration) -> f64 {
    round(slow.as_secs_f64() / fast.as_secs_f64().max(1e-9), 3)
}
