//! The comparison plot: panels of grouped bars (one bar per server per group, value printed above
//! it), rendered to PNG with plotters' bitmap backend. Text uses a TTF font found on the machine
//! (DejaVu Sans first); without one the bars are drawn without text.

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::{Path, PathBuf};

/// One panel: a title, a unit for the value labels, the groups along x, and per series (server) one
/// value per group.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub unit: String,
    pub groups: Vec<String>,
    pub series: Vec<(String, Vec<f64>)>,
}

/// Bar colours, by series.
const COLORS: [RGBColor; 4] = [
    RGBColor(0x2b, 0x6c, 0xb0),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0x75, 0x70, 0xb3),
];
const FONT: &str = "sans-serif";
const WIDTH: u32 = 1500;
const HEIGHT: u32 = 560;

/// Fonts tried first; then any `.ttf` under /usr/share/fonts.
const PREFERRED_FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// A TTF file to draw text with, if the machine has one.
pub fn find_font() -> Option<PathBuf> {
    if let Some(p) = PREFERRED_FONTS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    {
        return Some(p);
    }
    let mut stack = vec![PathBuf::from("/usr/share/fonts")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ttf")) {
                return Some(p);
            }
        }
    }
    None
}

/// Registers `font` for text; false (draw without text) if it cannot be read or parsed.
fn load_font(font: Option<&Path>) -> bool {
    let Some(bytes) = font.and_then(|p| std::fs::read(p).ok()) else {
        return false;
    };
    // plotters keeps fonts for the life of the process; one font is read once per run.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font(FONT, FontStyle::Normal, bytes).is_ok()
}

/// Renders `panels` side by side under `title` into a PNG at `path`, with text if `font` is usable.
/// Returns whether text was drawn.
pub fn render(path: &Path, title: &str, panels: &[Panel], font: Option<&Path>) -> Result<bool> {
    let text = load_font(font);
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let body = if text {
        let style = TextStyle::from((FONT, 26).into_font()).color(&BLACK);
        root.draw(&Text::new(title.to_string(), (20, 14), style))
            .map_err(|e| err(&e))?;
        root.margin(56, 0, 0, 0)
    } else {
        root.margin(20, 0, 0, 0)
    };
    let cells = body.split_evenly((1, panels.len().max(1)));
    for (panel, area) in panels.iter().zip(cells.iter()) {
        draw_panel(area, panel, text).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(text)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_panel(
    area: &Area<'_>,
    panel: &Panel,
    text: bool,
) -> Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let (left, right, top, bottom) = (
        24,
        24,
        if text { 40 } else { 10 },
        if text { 70 } else { 20 },
    );
    let plot_h = (h - top - bottom).max(1);
    let max = panel
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let groups = panel.groups.len().max(1) as i32;
    let group_w = (w - left - right) / groups;
    let n = panel.series.len().max(1) as i32;
    let bar_w = (group_w * 3 / 4) / n;
    let small = |size: i32| TextStyle::from((FONT, size).into_font()).color(&BLACK);
    let centred = |size: i32| {
        small(size).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ))
    };
    if text {
        area.draw(&Text::new(panel.title.clone(), (left, 8), small(20)))?;
    }
    let baseline = top + plot_h;
    area.draw(&PathElement::new(
        vec![(left, baseline), (w - right, baseline)],
        BLACK.stroke_width(1),
    ))?;
    for (g, group) in panel.groups.iter().enumerate() {
        let gx = left + g as i32 * group_w + (group_w - bar_w * n) / 2;
        for (s, (_, values)) in panel.series.iter().enumerate() {
            let v = values.get(g).copied().unwrap_or(0.0).max(0.0);
            let bar_h = ((v / max) * f64::from(plot_h - 24)).round() as i32;
            let x0 = gx + s as i32 * bar_w;
            let color = COLORS[s % COLORS.len()];
            area.draw(&Rectangle::new(
                [(x0 + 2, baseline - bar_h), (x0 + bar_w - 2, baseline)],
                color.filled(),
            ))?;
            if text {
                area.draw(&Text::new(
                    format_value(v, &panel.unit),
                    (x0 + bar_w / 2, baseline - bar_h - 4),
                    centred(15),
                ))?;
            }
        }
        if text {
            area.draw(&Text::new(
                group.clone(),
                (left + g as i32 * group_w + group_w / 2, baseline + 24),
                centred(17),
            ))?;
        }
    }
    if text {
        let mut x = left;
        for (s, (name, _)) in panel.series.iter().enumerate() {
            let color = COLORS[s % COLORS.len()];
            area.draw(&Rectangle::new(
                [(x, h - 30), (x + 14, h - 16)],
                color.filled(),
            ))?;
            area.draw(&Text::new(name.clone(), (x + 20, h - 32), small(15)))?;
            x += 26 + 9 * name.len() as i32;
        }
    }
    Ok(())
}

/// A bar's label: integers with no decimals from 100 up, otherwise up to two decimals, then the unit.
pub fn format_value(v: f64, unit: &str) -> String {
    let n = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if unit.is_empty() {
        n
    } else {
        format!("{n} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panels() -> Vec<Panel> {
        vec![Panel {
            title: "tools/call throughput".into(),
            unit: "/s".into(),
            groups: vec!["8 conns".into(), "32 conns".into()],
            series: vec![
                ("ours".into(), vec![5000.0, 5200.0]),
                ("official".into(), vec![400.0]),
            ],
        }]
    }

    fn is_png(path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
    }

    #[test]
    fn renders_a_png_with_and_without_a_font() {
        let dir = std::env::temp_dir().join(format!("bench-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let plain = dir.join("plain.png");
        assert!(!render(&plain, "t", &panels(), None).expect("render"));
        assert!(is_png(&plain));
        let missing = dir.join("missing.png");
        assert!(
            !render(
                &missing,
                "t",
                &panels(),
                Some(Path::new("/nonexistent.ttf"))
            )
            .expect("render")
        );
        assert!(is_png(&missing));
        if let Some(font) = find_font() {
            let with_text = dir.join("text.png");
            assert!(render(&with_text, "t", &panels(), Some(&font)).expect("render"));
            assert!(is_png(&with_text));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn value_labels() {
        assert_eq!(format_value(5123.4, "/s"), "5123 /s");
        assert_eq!(format_value(17.44, "MB"), "17.4 MB");
        assert_eq!(format_value(0.456, "ms"), "0.46 ms");
        assert_eq!(format_value(3.0, ""), "3.00");
    }
}
