//! The verdict: after the JSON lines, on a terminal, each printed measure's figure against
//! its target, met or not, and what it means, so a newcomer needs no other page to read a
//! run.
//!
//! [`TARGETS`] is the one list of targets. The table in the module doc of `bench.rs` and
//! the one in `docs/bench.md` show the same targets, and a test holds them to it.

use serde_json::Value;
use Compare::{Above, AtLeast, AtMost};

/// How a figure is held to its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    /// `≥`
    AtLeast,
    /// `≤`
    AtMost,
    /// `>`
    Above,
}

impl Compare {
    fn sign(self) -> &'static str {
        match self {
            Compare::AtLeast => "≥",
            Compare::AtMost => "≤",
            Compare::Above => ">",
        }
    }

    fn holds(self, figure: f64, bound: f64) -> bool {
        match self {
            Compare::AtLeast => figure >= bound,
            Compare::AtMost => figure <= bound,
            Compare::Above => figure > bound,
        }
    }
}

/// One condition of a target: the line's `field` compared with `bound`.
#[derive(Debug)]
pub(crate) struct Bound {
    /// The JSON field that holds the figure: `ratio`, `value` or a raw figure.
    pub(crate) field: &'static str,
    pub(crate) compare: Compare,
    /// The bound as the docs write it (`1,000`), so the docs and the check cannot differ.
    pub(crate) bound: &'static str,
}

impl Bound {
    pub(crate) fn value(&self) -> f64 {
        self.bound
            .replace(',', "")
            .parse()
            .unwrap_or_else(|_| panic!("the bound `{}` is a number", self.bound))
    }
}

/// A measure's target: every bound must hold.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) measure: &'static str,
    /// The thread count a speedup is judged at: its point of the line's `curve`.
    pub(crate) at_threads: Option<u64>,
    /// The first is the measure's figure; the others are further conditions.
    pub(crate) bounds: &'static [Bound],
    /// What the figure says, in one line.
    pub(crate) means: &'static str,
}

const fn bound(field: &'static str, compare: Compare, bound: &'static str) -> Bound {
    Bound {
        field,
        compare,
        bound,
    }
}

/// Every measure's target, in the order of [`super::MEASURES`].
pub(crate) const TARGETS: [Target; 12] = [
    Target {
        measure: "speedup_uniform",
        at_threads: Some(2),
        bounds: &[bound("ratio", AtLeast, "1.9")],
        means: "independent ~50 µs calls on 2 threads, times as fast as on 1",
    },
    Target {
        measure: "speedup_zipf",
        at_threads: Some(2),
        bounds: &[bound("ratio", AtLeast, "1.8")],
        means: "the same with hot keys (Zipf): calls on one key must run in order",
    },
    Target {
        measure: "speedup_tiny",
        at_threads: Some(2),
        bounds: &[bound("ratio", AtLeast, "1.8")],
        means: "tiny logging calls on 2 threads vs 1: the host's own work limits the gain",
    },
    Target {
        measure: "e2e_vs_store",
        at_threads: None,
        bounds: &[bound("ratio", AtLeast, "1.0")],
        means: "calls/s to durable, wasm included, vs a raw sled batch of the same writes",
    },
    Target {
        measure: "overhead_vs_wasmtime",
        at_threads: None,
        bounds: &[bound("ratio", AtLeast, "0.85")],
        means: "calls/s through the host at 1 thread vs bare wasmtime calls: 1 is no overhead",
    },
    Target {
        measure: "tiny_vs_wasmtime",
        at_threads: None,
        bounds: &[bound("ratio", AtLeast, "0.5")],
        means: "the same for tiny logging calls, where the host's work is most of a call",
    },
    Target {
        measure: "growth",
        at_threads: None,
        bounds: &[bound("ratio", AtMost, "1.3")],
        means: "cost per write at 10^6 entries vs at 10^4: near 1, state size barely matters",
    },
    Target {
        measure: "scheduler_ns_per_call",
        at_threads: None,
        bounds: &[bound("value", AtMost, "1,000")],
        means: "ns to order and dispatch one call by its keys, no wasm",
    },
    Target {
        measure: "available_parallelism",
        at_threads: None,
        bounds: &[bound("value", AtLeast, "100")],
        means: "how many cores the uniform batch could keep busy (work ÷ span)",
    },
    Target {
        measure: "amdahl_ceiling",
        at_threads: None,
        bounds: &[bound("value", AtLeast, "30")],
        means: "the speedup no core count passes, set by a round's serial part",
    },
    Target {
        measure: "mm_syscalls_per_call",
        at_threads: None,
        bounds: &[bound("value", AtMost, "0.05")],
        means: "memory-map system calls per call once warm: near 0, no kernel work per call",
    },
    Target {
        measure: "serve_calls_per_s",
        at_threads: None,
        bounds: &[
            bound("value", AtLeast, "20,000"),
            bound("speedup", Above, "1"),
        ],
        means: "calls/s to durable over HTTP from 64 clients; speedup: all cores vs 1 worker",
    },
];

impl Target {
    /// The target as the docs' tables write it, e.g. `≥ 1.9 at 2`, or
    /// ``≥ 20,000 (`value`); `speedup` > 1``: further conditions name their field.
    pub(crate) fn doc(&self) -> String {
        let mut parts = Vec::new();
        for (i, b) in self.bounds.iter().enumerate() {
            parts.push(match (i, self.bounds.len()) {
                (0, 1) => format!("{} {}", b.compare.sign(), b.bound),
                (0, _) => format!("{} {} (`{}`)", b.compare.sign(), b.bound, b.field),
                _ => format!("`{}` {} {}", b.field, b.compare.sign(), b.bound),
            });
        }
        let mut doc = parts.join("; ");
        if let Some(n) = self.at_threads {
            doc.push_str(&format!(" at {n}"));
        }
        doc
    }

    /// What became of the target in `line`.
    fn judge(&self, line: &Value) -> Judged {
        if let Some(why) = line.get("why").and_then(Value::as_str) {
            return Judged::NoFigure(why.to_string());
        }
        let mut figures = Vec::new();
        let mut met = true;
        for (i, b) in self.bounds.iter().enumerate() {
            let figure = match self.figure(line, b.field) {
                Ok(figure) => figure,
                Err(why) => return Judged::NoFigure(why),
            };
            met &= b.compare.holds(figure, b.value());
            figures.push(if i == 0 {
                number(figure)
            } else {
                format!("{} {}", b.field, number(figure))
            });
        }
        let figure = figures.join("; ");
        if met {
            Judged::Met(figure)
        } else {
            Judged::Missed(figure)
        }
    }

    /// `field` of `line`, at [`Target::at_threads`] if the target names a thread count.
    fn figure(&self, line: &Value, field: &str) -> Result<f64, String> {
        let point = match self.at_threads {
            None => line,
            Some(n) => {
                let curve = line.get("curve").and_then(Value::as_array);
                let at_n = |p: &&Value| p.get("threads").and_then(Value::as_u64) == Some(n);
                match curve.and_then(|c| c.iter().find(at_n)) {
                    Some(point) => point,
                    None if line.get("threads").and_then(Value::as_u64) == Some(n) => line,
                    None => {
                        return Err(format!(
                            "not measured at {n} threads, where the target is (--threads 1,{n})"
                        ))
                    }
                }
            }
        };
        point
            .get(field)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("the line has no number `{field}`"))
    }
}

/// A target, judged.
#[derive(Debug, PartialEq)]
enum Judged {
    Met(String),
    Missed(String),
    /// Why the line gives no figure to judge.
    NoFigure(String),
}

/// `x` as a table shows it: thousands separated from 1,000 up (rounded to a whole), else
/// as the JSON line has it (each measure already rounds to the digits that matter).
fn number(x: f64) -> String {
    if x.abs() < 1_000.0 {
        return format!("{x}");
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    if x < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// The verdict table for `lines`, the JSON lines a run printed: a header, one row per
/// line (measure, figure, target, verdict, what it means, or why there is no figure),
/// and how many targets were met. Ends with a newline.
pub(crate) fn render(lines: &[Value]) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "measure".into(),
        "figure".into(),
        "target".into(),
        "verdict".into(),
        "what it means".into(),
    ]];
    let (mut met, mut judged) = (0, 0);
    for line in lines {
        let measure = line.get("measure").and_then(Value::as_str).unwrap_or("?");
        let Some(target) = TARGETS.iter().find(|t| t.measure == measure) else {
            let row = [measure, "", "", "", "no target for this measure"];
            rows.push(row.map(String::from));
            continue;
        };
        let target_text = target.doc().replace('`', "");
        let row = match target.judge(line) {
            Judged::Met(figure) => {
                (met, judged) = (met + 1, judged + 1);
                [figure, target_text, "met".into(), target.means.into()]
            }
            Judged::Missed(figure) => {
                judged += 1;
                [figure, target_text, "MISSED".into(), target.means.into()]
            }
            Judged::NoFigure(why) => ["—".into(), target_text, "no figure".into(), why],
        };
        let [figure, target, verdict, means] = row;
        rows.push([measure.to_string(), figure, target, verdict, means]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        for (c, cell) in row.iter().enumerate().take(4) {
            out.push_str(cell);
            out.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    out.push_str(&format!("{met} of {judged} targets met\n"));
    out
}
