//! Charts, pure drawing (no I/O): PNG for e-mail (inline CID parts), SVG for
//! web pages. Both come from the same drawing code, so a chart looks the same
//! in a mail client and in a browser.
//!
//! Text is drawn with the DejaVu Sans font embedded in the binary (the
//! `dejavu` crate); no system fonts or fontconfig are needed. Every drawing
//! function calls [`register_fonts`] first, so callers need not.
//!
//! - [`trend`]: a 12-week trend line of one series (KPIs, delivery metrics).
//! - [`burnup`]: a goal's burn-up with its forecast cone (P50/P85/P95), SVG.

pub mod burnup;
pub mod trend;

pub use trend::{Series, trend_png, trend_svg};

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea, SVGBackend};
use plotters::style::FontStyle;

/// The font family every chart uses; registered by [`register_fonts`].
pub const FONT: &str = "sans-serif";

/// Registers DejaVu Sans (normal and bold) as [`FONT`] with plotters, once
/// per process. Safe to call from any thread, any number of times.
pub fn register_fonts() -> anyhow::Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for (name, style, bytes) in [
            ("regular", FontStyle::Normal, dejavu::sans::regular()),
            ("bold", FontStyle::Bold, dejavu::sans::bold()),
        ] {
            plotters::style::register_font(FONT, style, bytes)
                .map_err(|_| format!("the embedded DejaVu Sans {name} is not a valid font"))?;
        }
        Ok(())
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// An SVG document of `width`×`height` drawn by `draw`: the one SVG canvas
/// every chart uses (size checked, fonts registered first).
pub(crate) fn svg_document(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    check_size(width, height)?;
    register_fonts()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
    }
    Ok(svg)
}

/// Chart sizes are bounded so that a request cannot ask for a huge image.
pub(crate) fn check_size(width: u32, height: u32) -> anyhow::Result<()> {
    const MIN: (u32, u32) = (160, 100);
    const MAX: u32 = 4000;
    anyhow::ensure!(
        (MIN.0..=MAX).contains(&width) && (MIN.1..=MAX).contains(&height),
        "a chart must be {}–{MAX} pixels wide and {}–{MAX} high, not {width}×{height}",
        MIN.0,
        MIN.1
    );
    Ok(())
}
