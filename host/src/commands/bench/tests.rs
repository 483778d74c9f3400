//! Tests of the benchmark's pieces: thread lists, the sampler, medians, interleaving.
//! No test here times anything.

use super::rng::{SplitMix64, Zipf};
use super::thread_counts;
use super::timing::{interleave, median, Turn};
use std::time::Duration;

#[test]
fn thread_counts_always_hold_the_baseline_sorted_once() {
    assert_eq!(thread_counts(&[], 2), [1, 2]);
    assert_eq!(thread_counts(&[], 1), [1]);
    assert_eq!(thread_counts(&[8, 2, 4, 2], 2), [1, 2, 4, 8]);
    assert_eq!(thread_counts(&[1, 16], 2), [1, 16]);
}

#[test]
fn splitmix_is_deterministic_and_below_stays_in_range() {
    let mut a = SplitMix64::new(7);
    let mut b = SplitMix64::new(7);
    let xs: Vec<u64> = (0..100).map(|_| a.below(10)).collect();
    let ys: Vec<u64> = (0..100).map(|_| b.below(10)).collect();
    assert_eq!(xs, ys);
    assert!(xs.iter().all(|&x| x < 10));
    assert_ne!(SplitMix64::new(8).next_u64(), SplitMix64::new(7).next_u64());
    // Every value shows up in 100 draws of 10: the generator is not stuck.
    assert!((0..10).all(|v| xs.contains(&v)));
}

#[test]
fn zipf_probabilities_follow_one_over_rank() {
    let zipf = Zipf::new(1_000, 1.0);
    assert_eq!(zipf.len(), 1_000);
    let harmonic: f64 = (1..=1_000).map(|k| 1.0 / k as f64).sum();
    for k in [0, 1, 9, 99, 999] {
        let expected = 1.0 / ((k + 1) as f64 * harmonic);
        assert!((zipf.probability(k) - expected).abs() < 1e-12, "rank {k}");
    }
    let total: f64 = (0..1_000).map(|k| zipf.probability(k)).sum();
    assert!((total - 1.0).abs() < 1e-9);
}

#[test]
fn zipf_draws_are_seeded_in_range_and_skewed() {
    let zipf = Zipf::new(1_000, 1.0);
    let draw = |seed| {
        let mut rng = SplitMix64::new(seed);
        (0..100_000)
            .map(|_| zipf.sample(&mut rng))
            .collect::<Vec<_>>()
    };
    let draws = draw(42);
    assert_eq!(draws, draw(42), "the same seed draws the same keys");
    assert!(draws.iter().all(|&k| k < 1_000));
    let mut counts = vec![0usize; 1_000];
    for &k in &draws {
        counts[k] += 1;
    }
    // Rank 0 has probability 1/H(1000) ≈ 0.1336, rank 1 half that: 100,000 draws put them
    // within a few hundred (several standard deviations) of 13,360 and 6,680.
    assert!((12_900..13_800).contains(&counts[0]), "{}", counts[0]);
    assert!((6_300..7_100).contains(&counts[1]), "{}", counts[1]);
    assert!(counts[0] > counts[9] && counts[9] > counts[999]);
}

#[test]
fn medians_of_odd_even_and_empty_lists() {
    let ms = |v: &[u64]| {
        v.iter()
            .map(|&m| Duration::from_millis(m))
            .collect::<Vec<_>>()
    };
    assert_eq!(median(&ms(&[5, 1, 3])), Duration::from_millis(3));
    assert_eq!(median(&ms(&[4, 1, 3, 2])), Duration::from_micros(2_500));
    assert_eq!(median(&[]), Duration::ZERO);
}

#[test]
fn interleave_warms_up_then_rotates_the_first_subject() {
    let mut turns = Vec::new();
    let times = interleave(3, 2, |turn: Turn| {
        turns.push((turn.subject, turn.rep));
        Ok::<_, ()>(Duration::from_millis(turn.subject as u64 + 1))
    })
    .unwrap();
    assert_eq!(
        turns,
        [
            (0, None),
            (1, None),
            (0, Some(0)),
            (1, Some(0)),
            (1, Some(1)),
            (0, Some(1)),
            (0, Some(2)),
            (1, Some(2)),
        ]
    );
    assert_eq!(times[0], [Duration::from_millis(1); 3]);
    assert_eq!(times[1], [Duration::from_millis(2); 3]);
}

#[test]
fn lines_put_the_measure_and_its_figure_first_and_stay_json() {
    let line = serde_json::json!({"calls": 3, "ratio": 1.5, "measure": "m", "a": [1, {"b": "c"}]});
    let text = super::render(&line);
    assert_eq!(
        text,
        r#"{"measure":"m","ratio":1.5,"a":[1,{"b":"c"}],"calls":3}"#
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        line
    );
}

#[test]
fn every_measure_prints_one_line_with_its_figure() {
    let mut lines = Vec::new();
    let progress = super::progress::Progress::new();
    let curves = super::measure(super::Sizes::tiny(), &[1, 2], 2, &[], &progress, |line| {
        lines.push(line);
        Ok(())
    })
    .unwrap();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["measure"].as_str().unwrap())
        .collect();
    assert_eq!(names, super::MEASURES);
    for line in &lines {
        let figure = line.get("ratio").or_else(|| line.get("value"));
        // A measure that cannot run here says why instead of giving a figure.
        let why = line.get("why").and_then(|w| w.as_str());
        assert!(
            figure.is_some_and(|f| f.is_f64())
                || (figure.is_some_and(|f| f.is_null()) && why.is_some()),
            "{line}"
        );
    }
    assert_eq!(curves.len(), 2);
    assert_eq!(curves[0].threads, [1, 2]);
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("speedup.svg");
    super::plot::draw(&plot, &curves).unwrap();
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));
}

#[test]
fn strace_summaries_are_read_by_name() {
    let summary = "\
calls     syscall
--------- ----------------
       12 mmap
        3 munmap
     1002 ioctl
--------- ----------------
     1017 total
";
    // `name,calls` columns, as the measure asks for.
    let named =
        "syscall            calls\n------ -----\nmmap 12\nmunmap 3\nioctl 1002\ntotal 1017\n";
    assert_eq!(super::syscalls::parse(named), [12, 3, 0, 0, 1002]);
    // Columns the other way round count nothing rather than misread.
    assert_eq!(super::syscalls::parse(summary), [0, 0, 0, 0, 0]);
}
