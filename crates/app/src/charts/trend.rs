//! A trend line: one series of dated values (typically the last 12 weekly
//! values of a KPI or a delivery metric), drawn as a line with a dot per
//! value, dates on the x axis and the unit in the caption.
//!
//! ```no_run
//! use chrono::NaiveDate;
//! use tandem_app::charts::{Series, trend_png, trend_svg};
//! let s = Series {
//!     label: "p95 latency of /users".into(),
//!     unit: "ms".into(),
//!     points: vec![
//!         (NaiveDate::from_ymd_opt(2026, 11, 9).unwrap(), 500.0),
//!         (NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(), 300.0),
//!     ],
//! };
//! let png: Vec<u8> = trend_png(&s, 480, 200)?;   // for e-mail
//! let svg: String = trend_svg(&s, 480, 200)?;    // for web pages
//! # anyhow::Ok(())
//! ```
//!
//! An empty series gives a chart that says "No data"; a single value or a
//! flat series gets a padded value axis, so every input draws.

use chrono::{Duration, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT, check_size, register_fonts, svg_document};

/// One series to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What is measured, e.g. "p95 latency of /users".
    pub label: String,
    /// Its unit, e.g. "ms" (may be empty).
    pub unit: String,
    /// Dated values, in any order (they are drawn in date order).
    pub points: Vec<(NaiveDate, f64)>,
}

impl Series {
    /// "p95 latency of /users (ms)".
    pub fn caption(&self) -> String {
        if self.unit.is_empty() {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, self.unit)
        }
    }
}

/// The line's colour (a blue that reads on white and in grey-scale print).
const LINE: RGBColor = RGBColor(37, 99, 235);
const GRID: RGBColor = RGBColor(229, 231, 235);
const TEXT: RGBColor = RGBColor(55, 65, 81);

/// The trend chart as PNG bytes (RGB, `width`×`height` pixels).
pub fn trend_png(series: &Series, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    check_size(width, height)?;
    register_fonts()?;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root, series)?;
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgb,
        width,
        height,
        image::ColorType::Rgb8,
    )?;
    Ok(png)
}

/// The same chart as an SVG document.
pub fn trend_svg(series: &Series, width: u32, height: u32) -> anyhow::Result<String> {
    svg_document(width, height, |root| draw(root, series))
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e}")
}

/// Draws `series` on `root`; the one drawing code behind PNG and SVG.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, series: &Series) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let mut points: Vec<(NaiveDate, f64)> = series
        .points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(d, _)| *d);
    let caption = (FONT, 15).into_font().style(FontStyle::Bold).color(&TEXT);
    let Some(&(first, _)) = points.first() else {
        let (w, h) = root.dim_in_pixel();
        root.draw(&Text::new(series.caption(), (10, 8), caption))
            .map_err(err)?;
        let style = (FONT, 14).into_font().color(&TEXT);
        root.draw(&Text::new(
            "No data",
            (
                i32::try_from(w / 2).unwrap_or(0) - 28,
                i32::try_from(h / 2).unwrap_or(0),
            ),
            style,
        ))
        .map_err(err)?;
        return Ok(());
    };
    let xs: Vec<(f64, f64)> = points
        .iter()
        .map(|(d, v)| ((*d - first).num_days() as f64, *v))
        .collect();
    let last_x = xs.last().map_or(0.0, |p| p.0);
    let x_range = if last_x > 0.0 {
        -0.5..last_x + 0.5
    } else {
        -3.5..3.5
    };
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let pad = if hi > lo {
        (hi - lo) * 0.12
    } else {
        (hi.abs() * 0.1).max(1.0)
    };
    let y_range = (lo - pad)..(hi + pad);

    let mut chart = ChartBuilder::on(root)
        .caption(series.caption(), caption)
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(48)
        .build_cartesian_2d(x_range, y_range)
        .map_err(err)?;
    let label = (FONT, 11).into_font().color(&TEXT);
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .axis_style(TEXT)
        .label_style(label)
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|x| {
            (first + Duration::days(x.round() as i64))
                .format("%-d %b")
                .to_string()
        })
        .y_label_formatter(&|y| tandem_domain::report::number(*y))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(xs.iter().copied(), LINE.stroke_width(2)))
        .map_err(err)?;
    chart
        .draw_series(xs.iter().map(|p| Circle::new(*p, 3, LINE.filled())))
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, 7).unwrap() + Duration::days(i64::from(d))
    }

    fn twelve_weeks() -> Series {
        Series {
            label: "p95 latency of /users".into(),
            unit: "ms".into(),
            points: (0..12)
                .map(|w| (day(w * 7), 520.0 - f64::from(w) * 18.0))
                .collect(),
        }
    }

    /// Decodes a PNG and counts the pixels that are not white.
    fn inked(png: &[u8]) -> (u32, u32, usize) {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("valid PNG")
            .to_rgb8();
        let ink = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        (img.width(), img.height(), ink)
    }

    #[test]
    fn png_has_the_asked_size_and_draws_the_line() {
        let png = trend_png(&twelve_weeks(), 480, 200).unwrap();
        let (w, h, ink) = inked(&png);
        assert_eq!((w, h), (480, 200));
        // The caption, axes, labels and line cover well over 1 % of the image.
        assert!(ink > 480 * 200 / 100, "only {ink} pixels drawn");
        // The line's blue is there.
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert!(img.pixels().any(|p| p.0 == [37, 99, 235]));
    }

    #[test]
    fn svg_draws_the_same_series() {
        let svg = trend_svg(&twelve_weeks(), 480, 200).unwrap();
        assert!(svg.starts_with("<svg"), "{svg:.80}");
        assert!(svg.contains("p95 latency of /users (ms)"));
        assert!(svg.contains("<polyline"));
        assert_eq!(svg.matches("<circle").count(), 12);
        assert!(svg.contains("7 Sep"), "dates on the x axis");
    }

    #[test]
    fn empty_single_and_flat_series_draw() {
        let mut s = twelve_weeks();
        s.points.clear();
        assert!(trend_svg(&s, 300, 120).unwrap().contains("No data"));
        assert!(inked(&trend_png(&s, 300, 120).unwrap()).2 > 0);
        s.points = vec![(day(0), 5.0)];
        assert!(inked(&trend_png(&s, 300, 120).unwrap()).2 > 0);
        s.points = vec![(day(0), 0.0), (day(7), 0.0), (day(14), f64::NAN)];
        assert_eq!(
            trend_svg(&s, 300, 120).unwrap().matches("<circle").count(),
            2
        );
    }

    #[test]
    fn absurd_sizes_are_refused() {
        let e = trend_png(&twelve_weeks(), 10, 10).unwrap_err().to_string();
        assert!(e.contains("10×10"), "{e}");
        assert!(trend_svg(&twelve_weeks(), 100_000, 200).is_err());
    }
}
