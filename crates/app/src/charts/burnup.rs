//! A goal's burn-up chart with its forecast cone: the scope (items planned,
//! growing as work is added) and the items done over time, and from today a
//! cone to the scope line at the P50, P85 and P95 forecast dates, with the
//! deadline as a vertical line.
//!
//! ```no_run
//! use chrono::NaiveDate;
//! use tandem_app::charts::burnup::{Burnup, burnup_svg};
//! let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
//! let b = Burnup {
//!     title: "Checkout conversion".into(),
//!     scope: vec![(d(10, 1), 10), (d(11, 1), 14)],
//!     done: vec![(d(10, 8), 2), (d(11, 20), 8)],
//!     today: d(11, 26),
//!     p50: Some(d(12, 10)),
//!     p85: Some(d(12, 18)),
//!     p95: Some(d(12, 29)),
//!     deadline: Some(d(12, 20)),
//! };
//! let svg: String = burnup_svg(&b, 720, 320)?;
//! # anyhow::Ok(())
//! ```

use chrono::{Duration, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT, svg_document};

/// What the chart shows. Counts are cumulative.
#[derive(Debug, Clone, PartialEq)]
pub struct Burnup {
    pub title: String,
    /// Items in scope over time: (day, total so far), in date order.
    pub scope: Vec<(NaiveDate, u32)>,
    /// Items done over time: (day, done so far), in date order.
    pub done: Vec<(NaiveDate, u32)>,
    pub today: NaiveDate,
    /// Forecast dates; `None` when not within the forecast's horizon.
    pub p50: Option<NaiveDate>,
    pub p85: Option<NaiveDate>,
    pub p95: Option<NaiveDate>,
    pub deadline: Option<NaiveDate>,
}

const SCOPE: RGBColor = RGBColor(87, 96, 106);
const DONE: RGBColor = RGBColor(37, 99, 235);
const CONE: RGBColor = RGBColor(147, 197, 253);
const P50: RGBColor = RGBColor(22, 101, 52);
const P85: RGBColor = RGBColor(161, 98, 7);
const P95: RGBColor = RGBColor(153, 27, 27);
const DEADLINE: RGBColor = RGBColor(185, 28, 28);
const GRID: RGBColor = RGBColor(229, 231, 235);
const TEXT: RGBColor = RGBColor(55, 65, 81);

/// The burn-up chart as an SVG document.
pub fn burnup_svg(chart: &Burnup, width: u32, height: u32) -> anyhow::Result<String> {
    svg_document(width, height, |root| draw(root, chart))
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the burn-up chart: {e}")
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Burnup) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let scope_now = b.scope.last().map_or(0, |s| s.1);
    let done_now = b.done.last().map_or(0, |d| d.1);
    let dates = b
        .scope
        .iter()
        .chain(&b.done)
        .map(|p| p.0)
        .chain([b.today])
        .chain(b.p50)
        .chain(b.p85)
        .chain(b.p95)
        .chain(b.deadline);
    let first = dates.clone().min().unwrap_or(b.today);
    let last = dates.max().unwrap_or(b.today);
    let x = |d: NaiveDate| (d - first).num_days() as f64;
    let span = x(last).max(7.0);
    let top = f64::from(scope_now.max(done_now).max(1)) * 1.12;

    let caption = (FONT, 15).into_font().style(FontStyle::Bold).color(&TEXT);
    let mut chart = ChartBuilder::on(root)
        .caption(&b.title, caption)
        .margin(10)
        .x_label_area_size(26)
        .y_label_area_size(40)
        .build_cartesian_2d(-0.5..span + 1.0, 0.0..top)
        .map_err(err)?;
    let label = (FONT, 11).into_font().color(&TEXT);
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .axis_style(TEXT)
        .label_style(label.clone())
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|v| {
            (first + Duration::days(v.round() as i64))
                .format("%-d %b")
                .to_string()
        })
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("items")
        .draw()
        .map_err(err)?;

    // The cone: from today's done count to the scope line between P50 and
    // P95 (or P85 when P95 is beyond the horizon).
    let now = (x(b.today), f64::from(done_now));
    let scope_y = f64::from(scope_now);
    if let (Some(p50), Some(wide)) = (b.p50, b.p95.or(b.p85)) {
        chart
            .draw_series(std::iter::once(Polygon::new(
                vec![now, (x(p50), scope_y), (x(wide), scope_y)],
                CONE.mix(0.45).filled(),
            )))
            .map_err(err)?;
    }
    for (date, colour, name) in [
        (b.p50, P50, "P50"),
        (b.p85, P85, "P85"),
        (b.p95, P95, "P95"),
    ] {
        let Some(date) = date else { continue };
        chart
            .draw_series(LineSeries::new(
                [now, (x(date), scope_y)],
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("{name} {}", date.format("%-d %b")))
            .legend(move |(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 16, ly)], colour));
    }

    // Scope as a step line, done as a step line up to today.
    let steps = |points: &[(NaiveDate, u32)], until: NaiveDate| {
        let mut out = Vec::new();
        let mut prev = 0.0;
        for (d, v) in points {
            out.push((x(*d), prev));
            out.push((x(*d), f64::from(*v)));
            prev = f64::from(*v);
        }
        out.push((x(until), prev));
        out
    };
    chart
        .draw_series(LineSeries::new(
            steps(&b.scope, b.today),
            SCOPE.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("scope ({scope_now})"))
        .legend(|(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 16, ly)], SCOPE));
    chart
        .draw_series(LineSeries::new(
            steps(&b.done, b.today),
            DONE.stroke_width(3),
        ))
        .map_err(err)?
        .label(format!("done ({done_now})"))
        .legend(|(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 16, ly)], DONE));

    if let Some(deadline) = b.deadline {
        let dx = x(deadline);
        chart
            .draw_series(LineSeries::new(
                [(dx, 0.0), (dx, top)],
                DEADLINE.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("deadline {}", deadline.format("%-d %b")))
            .legend(|(lx, ly)| {
                PathElement::new(vec![(lx + 8, ly - 6), (lx + 8, ly + 6)], DEADLINE)
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(label)
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn sample() -> Burnup {
        Burnup {
            title: "Checkout conversion".into(),
            scope: vec![(d(10, 1), 10), (d(11, 1), 14)],
            done: vec![(d(10, 8), 2), (d(11, 20), 8)],
            today: d(11, 26),
            p50: Some(d(12, 10)),
            p85: Some(d(12, 18)),
            p95: Some(d(12, 29)),
            deadline: Some(d(12, 20)),
        }
    }

    #[test]
    fn draws_lines_cone_deadline_and_legend() {
        let svg = burnup_svg(&sample(), 720, 320).unwrap();
        assert!(svg.starts_with("<svg"), "{svg:.80}");
        assert!(svg.contains("Checkout conversion"));
        assert!(svg.contains("<polygon"), "the cone");
        for label in [
            "P50 10 Dec",
            "P85 18 Dec",
            "P95 29 Dec",
            "deadline 20 Dec",
            "scope (14)",
            "done (8)",
        ] {
            assert!(svg.contains(label), "legend {label}");
        }
    }

    #[test]
    fn no_forecast_and_no_work_still_draw() {
        let mut b = sample();
        b.p50 = None;
        b.p85 = None;
        b.p95 = None;
        b.deadline = None;
        let svg = burnup_svg(&b, 480, 240).unwrap();
        assert!(!svg.contains("<polygon"));
        b.scope.clear();
        b.done.clear();
        assert!(burnup_svg(&b, 480, 240).unwrap().contains("scope (0)"));
        assert!(burnup_svg(&b, 10, 10).is_err());
    }
}
