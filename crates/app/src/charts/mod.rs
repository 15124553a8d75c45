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
