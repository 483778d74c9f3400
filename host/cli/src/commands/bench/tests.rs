//! Tests of the benchmark's pieces: thread lists, the sampler, medians, interleaving,
//! the verdict, the load generator.
//! No test here times anything.

use super::rng::{SplitMix64, Zipf};
use super::speedup::serial_share;
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

#[test]
fn every_measure_has_one_target_in_order() {
    let measures: Vec<&str> = super::verdict::TARGETS.iter().map(|t| t.measure).collect();
    assert_eq!(measures, super::MEASURES);
    for target in &super::verdict::TARGETS {
        assert!(!target.bounds.is_empty(), "{}", target.measure);
        for bound in target.bounds {
            assert!(bound.value().is_finite(), "{}", target.measure);
        }
    }
}

/// `(measure, target)` of each row of a markdown table whose first cell is a `measure`,
/// its target in the last cell.
fn doc_targets(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .filter_map(|l| l.trim_start_matches("//!").trim().strip_prefix("| `"))
        .map(|row| {
            let cells: Vec<&str> = row.trim_end_matches('|').split(" | ").collect();
            let measure = cells[0].trim_end_matches('`').to_string();
            (measure, cells[cells.len() - 1].trim().to_string())
        })
        .collect()
}

#[test]
fn the_docs_show_the_verdicts_targets() {
    let expected: Vec<(String, String)> = super::verdict::TARGETS
        .iter()
        .map(|t| (t.measure.to_string(), t.doc()))
        .collect();
    let module_doc = include_str!("../bench.rs");
    assert_eq!(
        doc_targets(module_doc),
        expected,
        "the module doc of bench.rs"
    );
    // docs/bench.md: the table of "The measures", not the results further down.
    let user_doc = include_str!("../../../../../docs/bench.md");
    let measures = user_doc
        .split("## The measures")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/bench.md has a section `The measures`");
    let table: String = measures
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(doc_targets(&table), expected, "docs/bench.md");
}

#[test]
fn the_verdict_shows_met_missed_and_missing_figures() {
    use serde_json::json;
    let lines = [
        // Met at 2 threads, though the line's own figure is at 4.
        json!({"measure": "speedup_uniform", "ratio": 2.9, "threads": 4,
               "curve": [{"threads": 1, "ratio": 1.0}, {"threads": 2, "ratio": 1.933},
                         {"threads": 4, "ratio": 2.9}]}),
        // Not measured at 2 threads: no figure to judge, and why.
        json!({"measure": "speedup_tiny", "ratio": 1.0, "threads": 1}),
        json!({"measure": "growth", "ratio": 1.319}),
        json!({"measure": "scheduler_ns_per_call", "value": 149.1}),
        json!({"measure": "mm_syscalls_per_call", "value": null,
               "why": "strace is not installed"}),
        // Both bounds must hold: the first does, the second not.
        json!({"measure": "serve_calls_per_s", "value": 22807.4, "speedup": 0.96}),
    ];
    let expected = "\
measure                figure                target                         verdict    what it means
speedup_uniform        1.933                 ≥ 1.9 at 2                     met        independent ~50 µs calls on 2 threads, times as fast as on 1
speedup_tiny           —                     ≥ 1.8 at 2                     no figure  not measured at 2 threads, where the target is (--threads 1,2)
growth                 1.319                 ≤ 1.3                          MISSED     cost per write at 10^6 entries vs at 10^4: near 1, state size barely matters
scheduler_ns_per_call  149.1                 ≤ 1,000                        met        ns to order and dispatch one call by its keys, no wasm
mm_syscalls_per_call   —                     ≤ 0.05                         no figure  strace is not installed
serve_calls_per_s      22,807; speedup 0.96  ≥ 20,000 (value); speedup > 1  MISSED     calls/s to durable over HTTP from 64 clients; speedup: all cores vs 1 worker
2 of 4 targets met
";
    assert_eq!(super::verdict::render(&lines), expected);
}

/// Law: for a job that takes s + p/k at k threads, the serial share read from its times at
/// 1 and n threads is s, whatever s, p and n.
#[test]
fn prop_the_serial_share_of_an_amdahl_job_is_its_serial_part() {
    fn prop(s: u16, p: u16, n: u8) -> bool {
        let n = usize::from(n % 31) + 2;
        let (s, p) = (f64::from(s) * 1e-6, f64::from(p) * 1e-6);
        let at = |k: usize| Duration::from_secs_f64(s + p / k as f64);
        let got = serial_share(at(1), at(n), n).as_secs_f64();
        (got - s).abs() < 1e-8
    }
    quickcheck::QuickCheck::new()
        .tests(2_000)
        .quickcheck(prop as fn(u16, u16, u8) -> bool);
}

#[test]
fn the_serial_share_stays_within_the_job() {
    let ms = Duration::from_millis;
    // Perfectly parallel, serial, slower with threads, and no second thread count.
    assert_eq!(serial_share(ms(10), ms(5), 2), ms(0));
    assert_eq!(serial_share(ms(10), ms(10), 2), ms(10));
    assert_eq!(serial_share(ms(10), ms(12), 2), ms(10));
    assert_eq!(serial_share(ms(10), ms(4), 2), ms(0));
    assert_eq!(serial_share(ms(10), ms(3), 1), ms(10));
    assert_eq!(serial_share(ms(10), ms(6), 2), ms(2));
}

#[test]
fn the_load_generator_gets_a_seq_per_call_and_names_a_refusal() {
    use commute_examples::LOGGER;
    let mut host = commute::Host::temporary().unwrap();
    host.install(LOGGER.name, LOGGER.wasm, LOGGER.did_file(), None)
        .unwrap();
    let server = commute_serve::Server::start(
        host,
        "127.0.0.1:0".parse().unwrap(),
        commute_serve::Signals::Ignore,
    )
    .unwrap();
    let mut load = super::load::Load::new(&server.url(), 3).unwrap();
    let user = candid::Principal::anonymous();
    let bodies: Vec<Vec<u8>> = (0..10)
        .map(|i| candid::encode_args((user, format!("event {i}"))).unwrap())
        .collect();
    // Twice: the second batch goes over the connections the first left open.
    for batch in 0..2u64 {
        let (_, answered) = load.fire("/submit/logger/log", &bodies).unwrap();
        let mut seqs: Vec<u64> = answered.iter().map(|&(_, seq)| seq).collect();
        seqs.sort_unstable();
        let first = seqs[0];
        assert_eq!(
            seqs,
            (first..first + 10).collect::<Vec<_>>(),
            "batch {batch}"
        );
    }
    let refused = load.fire("/submit/logger/nope", &bodies[..1]).unwrap_err();
    let message = format!("{refused:#}");
    assert!(
        message.contains("/submit/logger/nope") && message.contains("404"),
        "{message}"
    );
    server.stop().unwrap();
}
