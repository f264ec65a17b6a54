//! Small, dependency-free SVG line charts: axes with round ticks, one polyline per series, an
//! optional second y axis, a legend. Deterministic output for the same data.

use std::fmt::Write as _;

/// One line on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Drawn against the second y axis.
    pub secondary: bool,
    /// Drawn dashed.
    pub dashed: bool,
    /// Its place in the palette, the same in every chart of a run for a strategy (see
    /// `strategies::series`); `None`: its index in the chart. Two series of a chart never
    /// share a style: a slot taken twice moves the later series to the next free one.
    pub slot: Option<usize>,
}

impl Series {
    /// A solid series on the first axis.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            secondary: false,
            dashed: false,
            slot: None,
        }
    }
}

/// A line chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label of the first y axis.
    pub y_label: String,
    /// Label of the second y axis, if any series uses it.
    pub y2_label: Option<String>,
    /// Logarithmic x axis (values must be positive).
    pub x_log: bool,
    /// The lines.
    pub series: Vec<Series>,
}

const W: f64 = 760.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
/// Line colours: twelve that stay apart on white.
const COLORS: [&str; 12] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#000000", "#393b79",
];

/// Point markers, one per round of the colours: series 0–11 dots, 12–23 squares, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Dot,
    Square,
    Triangle,
    Diamond,
}

const MARKERS: [Marker; 4] = [
    Marker::Dot,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
];

/// The colour and marker of the `i`-th series of a chart: no two of the first 48 share both.
fn style(i: usize) -> (&'static str, Marker) {
    (
        COLORS[i % COLORS.len()],
        MARKERS[(i / COLORS.len()) % MARKERS.len()],
    )
}

impl Marker {
    /// The marker at (x, y) in `color`; with `tip`, a point of the data, which a browser names
    /// under the cursor (an SVG `<title>`; the page's script shows it at once).
    fn draw(self, s: &mut String, x: f64, y: f64, color: &str, tip: Option<&str>) {
        let end = match tip {
            Some(t) => format!("><title>{}</title></{}>", escape(t), self.element()),
            None => "/>".to_owned(),
        };
        let _ = match self {
            Marker::Dot => writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.4" fill="{color}"{end}"#
            ),
            Marker::Square => writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="4.8" height="4.8" fill="{color}"{end}"#,
                x - 2.4,
                y - 2.4
            ),
            Marker::Triangle => writeln!(
                s,
                r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{color}"{end}"#,
                x,
                y - 3.2,
                x - 3.0,
                y + 2.4,
                x + 3.0,
                y + 2.4
            ),
            Marker::Diamond => writeln!(
                s,
                r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{color}"{end}"#,
                x,
                y - 3.2,
                x - 3.2,
                y,
                x,
                y + 3.2,
                x + 3.2,
                y
            ),
        };
    }

    fn element(self) -> &'static str {
        match self {
            Marker::Dot => "circle",
            Marker::Square => "rect",
            Marker::Triangle | Marker::Diamond => "polygon",
        }
    }
}

/// A value as a point's tip gives it: six significant digits, no trailing zeros.
pub fn exact(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let digits = 5 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.clamp(0, 9) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The palette slot of each series: its own, else its index; a slot taken by an earlier
/// series moves to the next free one.
fn slots(series: &[Series]) -> Vec<usize> {
    let mut taken: Vec<usize> = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        let mut slot = s.slot.unwrap_or(i);
        while taken.contains(&slot) {
            slot += 1;
        }
        taken.push(slot);
    }
    taken
}

/// Round tick values covering `[lo, hi]`, about five of them.
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut t = first;
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// A short label for a tick value: 1.5k, 2M, 0.25.
pub fn label(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// Text for SVG or HTML, in an element or an attribute: `&`, `<`, `>` and `"` escaped.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// The values to tick, when they are few (a log axis's measured x values).
    marks: Vec<f64>,
}

impl Axis {
    fn fit(values: impl Iterator<Item = f64>, log: bool, from_zero: bool) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            // No value to fit: an empty axis (a log axis cannot start at 0).
            (lo, hi) = if log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if from_zero && !log {
            lo = lo.min(0.0);
        }
        if hi <= lo {
            hi = lo + if log { lo.max(1.0) } else { 1.0 };
        }
        if !log {
            hi += (hi - lo) * 0.05;
        }
        Axis {
            lo,
            hi,
            log,
            marks: Vec::new(),
        }
    }

    fn frac(&self, v: f64) -> f64 {
        if self.log {
            (v.max(self.lo).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn ticks(&self) -> Vec<f64> {
        if !self.marks.is_empty() {
            return self.marks.clone();
        }
        if self.log {
            let mut out = Vec::new();
            let mut t = 10f64.powf(self.lo.log10().floor());
            while t <= self.hi * 1.0001 {
                if t >= self.lo * 0.9999 {
                    out.push(t);
                }
                t *= 10.0;
            }
            if out.len() < 2 {
                out = vec![self.lo, self.hi];
            }
            out
        } else {
            ticks(self.lo, self.hi)
        }
    }
}

/// The plot area and the three axes of one chart.
struct Frame {
    xs: Axis,
    y1: Axis,
    y2: Axis,
}

/// The most measured x values a log axis is ticked at, one each.
const MOST_MARKS: usize = 12;

const PW: f64 = W - LEFT - RIGHT;
const PH: f64 = H - TOP - BOTTOM;

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + self.xs.frac(x) * PW
    }

    fn py(a: &Axis, y: f64) -> f64 {
        TOP + PH - a.frac(y) * PH
    }
}

impl Chart {
    fn frame(&self) -> Frame {
        let ys = |secondary: bool| {
            Axis::fit(
                self.series
                    .iter()
                    .filter(move |s| s.secondary == secondary)
                    .flat_map(|s| s.points.iter().map(|p| p.1)),
                false,
                true,
            )
        };
        let xs = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .filter(|x| x.is_finite() && (!self.x_log || *x > 0.0))
        };
        let mut x_axis = Axis::fit(xs(), self.x_log, false);
        if self.x_log {
            // A log axis is ticked at every x measured, when they are few enough to read.
            let mut measured: Vec<f64> = xs().collect();
            measured.sort_by(f64::total_cmp);
            measured.dedup();
            if (2..=MOST_MARKS).contains(&measured.len()) {
                x_axis.marks = measured;
            }
        }
        Frame {
            xs: x_axis,
            y1: ys(false),
            y2: ys(true),
        }
    }

    /// Title, grid, ticks and axis labels.
    fn axes(&self, f: &Frame, s: &mut String) {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            LEFT + PW / 2.0,
            escape(&self.title)
        );
        for t in f.xs.ticks() {
            let x = f.px(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + PH,
                TOP + PH + 16.0,
                label(t)
            );
        }
        for t in f.y1.ticks() {
            let y = Frame::py(&f.y1, t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + PW,
                LEFT - 6.0,
                y + 4.0,
                label(t)
            );
        }
        if let Some(l2) = &self.y2_label {
            for t in f.y2.ticks() {
                let y = Frame::py(&f.y2, t);
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                    LEFT + PW + 6.0,
                    y + 4.0,
                    label(t)
                );
            }
            let _ = writeln!(
                s,
                r#"<text transform="translate({:.1},{:.1}) rotate(90)" text-anchor="middle">{}</text>"#,
                LEFT + PW + 48.0,
                TOP + PH / 2.0,
                escape(l2)
            );
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" fill="none" stroke="#333"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + PW / 2.0,
            H - 16.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + PH / 2.0,
            escape(&self.y_label)
        );
    }

    /// Each series as a polyline with dots, and its legend entry.
    fn lines(&self, f: &Frame, s: &mut String) {
        let legend_x = if self.y2_label.is_some() {
            LEFT + PW + 64.0
        } else {
            LEFT + PW + 14.0
        };
        for ((i, series), slot) in self.series.iter().enumerate().zip(slots(&self.series)) {
            let (color, marker) = style(slot);
            let axis = if series.secondary { &f.y2 } else { &f.y1 };
            let kept: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|p| p.0.is_finite() && p.1.is_finite() && (!self.x_log || p.0 > 0.0))
                .collect();
            let pts: Vec<(f64, f64)> = kept
                .iter()
                .map(|&(x, y)| (f.px(x), Frame::py(axis, y)))
                .collect();
            let dash = if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let name = escape(&series.name);
            let _ = writeln!(
                s,
                r#"<g class="series" data-series="{name}"><polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{}"/>"#,
                path.join(" ")
            );
            for (&(x, y), &(vx, vy)) in pts.iter().zip(&kept) {
                let tip = format!("{}: x {}, y {}", series.name, exact(vx), exact(vy));
                marker.draw(s, x, y, color, Some(&tip));
            }
            let ly = TOP + 10.0 + i as f64 * 18.0;
            let _ = writeln!(
                s,
                r#"<line x1="{legend_x:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                legend_x + 22.0,
                legend_x + 28.0,
                ly + 4.0,
                escape(&series.name)
            );
            marker.draw(s, legend_x + 11.0, ly, color, None);
            s.push_str("</g>\n");
        }
    }

    /// The chart as an SVG document.
    pub fn render(&self) -> String {
        let frame = self.frame();
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        self.axes(&frame, &mut s);
        self.lines(&frame, &mut s);
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            ticks(0.0, 1.0),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(ticks(3.0, 3.0), vec![3.0]);
        let t = ticks(0.0, 523_000.0);
        assert_eq!(t.first(), Some(&0.0));
        assert_eq!(t, vec![0.0, 200_000.0, 400_000.0]);
    }

    #[test]
    fn a_chart_without_points_renders_on_either_axis() {
        for x_log in [false, true] {
            let chart = Chart {
                title: "nothing measured".into(),
                x_label: "x".into(),
                y_label: "y".into(),
                y2_label: None,
                x_log,
                series: vec![Series::new("empty", Vec::new())],
            };
            let svg = chart.render();
            assert!(svg.trim_end().ends_with("</svg>"), "x_log {x_log}");
            assert!(svg.len() < 10_000, "x_log {x_log}: {} bytes", svg.len());
        }
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(label(500_000.0), "500k");
        assert_eq!(label(2_500_000.0), "2.5M");
        assert_eq!(label(0.25), "0.25");
        assert_eq!(label(3.0), "3");
    }

    /// The palette repeated after eight series: in the footprint chart `payload_floor` and a
    /// strategy eight places later were the same blue line with the same dots.
    #[test]
    fn no_two_series_of_a_chart_share_their_style() {
        let series: Vec<Series> = (0..30)
            .map(|i| Series::new(format!("s{i}"), vec![(1.0, i as f64), (2.0, 1.0)]))
            .collect();
        let chart = Chart {
            series,
            ..Chart::default()
        };
        let svg = chart.render();
        let styles: Vec<(&str, Marker)> = (0..30).map(style).collect();
        for (i, a) in styles.iter().enumerate() {
            assert!(!styles[..i].contains(a), "series {i} repeats {a:?}");
        }
        // Drawn as styled: each series' legend line in its colour, and its markers.
        assert_eq!(svg.matches("<polyline").count(), 30);
        assert!(svg.contains("<rect") && svg.contains("<polygon"));
    }

    /// A series keeps the slot it asks for (a strategy's colour in every chart of a run); one
    /// that asks for a slot taken in its chart moves to the next free one.
    #[test]
    fn a_series_keeps_its_slot_and_a_taken_slot_moves_on() {
        let with = |slot: Option<usize>| Series {
            slot,
            ..Series::new("s", vec![(1.0, 1.0)])
        };
        let series = [
            with(Some(5)),
            with(Some(5)),
            with(None),
            with(Some(6)),
            with(None),
        ];
        assert_eq!(slots(&series), [5, 6, 2, 7, 4]);
        assert_eq!(exact(41.234_567_8), "41.2346");
        assert_eq!(exact(0.412_34), "0.41234");
        assert_eq!(exact(500_000.0), "500000");
        assert_eq!(exact(127.5), "127.5");
    }

    /// A log axis was labelled at its ends only (the oltp chart showed 256 and 2000, not the
    /// four capacities measured).
    #[test]
    fn a_log_axis_is_ticked_at_every_measured_x() {
        let chart = Chart {
            x_log: true,
            series: vec![Series::new(
                "hits",
                vec![(256.0, 1.0), (512.0, 2.0), (1000.0, 3.0), (2000.0, 4.0)],
            )],
            ..Chart::default()
        };
        let svg = chart.render();
        for x in ["256", "512", "1000", "2000"] {
            assert!(svg.contains(&format!(">{x}</text>")), "no tick at {x}");
        }
    }

    #[test]
    fn a_chart_renders_every_series_and_escapes_text() {
        let mut a = Series::new("a<b", vec![(0.0, 1.0), (1.0, 2.0)]);
        a.dashed = true;
        let mut b = Series::new("bytes", vec![(0.0, 10.0), (1.0, 5.0)]);
        b.secondary = true;
        let chart = Chart {
            title: "t & t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            y2_label: Some("MB".into()),
            x_log: false,
            series: vec![a, b],
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a&lt;b") && svg.contains("t &amp; t"));
        assert!(svg.contains("stroke-dasharray"));
        assert_eq!(svg, chart.render(), "deterministic");
    }
}
