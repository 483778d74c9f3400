//! `--plot FILE.svg`: speedup vs threads beside the ideal line.

use super::speedup::{Curve, Keys};
use plotters::prelude::*;
use std::path::Path;

/// Draws `curves` (speedup at each thread count), the ideal line `speedup = threads`, and
/// the bare wasmtime loop's speedup on the same calls (the ceiling the engine and the
/// kernel leave), into an SVG file at `path`.
///
/// # Errors
///
/// If the file cannot be written.
pub(crate) fn draw(path: &Path, curves: &[Curve]) -> anyhow::Result<()> {
    let max_threads = curves
        .iter()
        .flat_map(|c| c.threads.iter().copied())
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let max_ratio = curves
        .iter()
        .flat_map(|c| c.ratios.iter().copied().chain(c.wasmtime_ratios()))
        .fold(max_threads, f64::max);
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "commute: speedup of pure rounds vs threads",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max_threads * 1.05, 0.0..max_ratio * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc("speedup over 1 thread")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(1.0, 1.0), (max_threads, max_threads)],
            BLACK.stroke_width(1),
        ))?
        .label("ideal")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    if let Some(uniform) = curves.iter().find(|c| c.keys == Keys::Uniform) {
        // The ceiling: the same calls in a bare wasmtime loop on as many threads.
        let gray = RGBColor(150, 150, 150);
        let points: Vec<(f64, f64)> = uniform
            .threads
            .iter()
            .zip(uniform.wasmtime_ratios())
            .map(|(&t, r)| (t as f64, r))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), gray.stroke_width(2)))?
            .label("bare wasmtime, same calls")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], gray.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, gray.filled())))?;
    }
    for curve in curves {
        let (label, color) = match curve.keys {
            Keys::Uniform => ("distinct keys", BLUE),
            Keys::Zipf => ("Zipf(1.0) over 1,000 keys", RED),
        };
        let points: Vec<(f64, f64)> = curve
            .threads
            .iter()
            .zip(&curve.ratios)
            .map(|(&t, &r)| (t as f64, r))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}
