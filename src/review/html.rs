//! The report as one self-contained HTML page: inline CSS and inline SVG charts, no script, no font, no network.
//!
//! The charts are SVG written here rather than drawn by a plotting crate: four simple shapes (a line of the
//! daily handoff rate, bars of reasons, of silent failures per week and of waits) need axes, bars and labels
//! only, and SVG text is laid out by the browser, so no font has to be measured or shipped. Each chart is an
//! `<svg class="chart" data-chart="...">` whose marks carry `class="mark"` and a `<title>` with the exact
//! figure (a tooltip in every browser), which is also what the headless-Chromium test counts.

use std::fmt::Write as _;

use super::report::Report;

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    crate::text::escape_markup(text)
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;

/// A vertical bar chart of `(label, value)`: shares of one (`share`, drawn as percentages) or counts.
fn bars(id: &str, title: &str, data: &[(String, f64)], share: bool) -> String {
    // Shares: up to 100%. Counts: a top that four grid lines divide into whole numbers.
    let (max, format): (f64, fn(f64) -> String) = if share {
        (1.0, percent)
    } else {
        ((data.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max) / 4.0).ceil().max(1.0) * 4.0, count)
    };
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let n = data.len().max(1) as f64;
    let slot = plot_w / n;
    let mut svg = open(id, title);
    axes(&mut svg, max, &format);
    for (i, (label, value)) in data.iter().enumerate() {
        let h = (value / max * plot_h).max(if *value > 0.0 { 1.0 } else { 0.0 });
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let y = TOP + plot_h - h;
        let _ = write!(
            svg,
            r#"<rect class="mark" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{}: {}</title></rect>"#,
            slot * 0.7,
            esc(label),
            format(*value)
        );
        if data.len() <= 16 || i % (data.len() / 8).max(1) == 0 {
            let _ = write!(
                svg,
                r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + slot * 0.35,
                HEIGHT - BOTTOM + 14.0,
                esc(label)
            );
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

/// A line chart of `(label, value)` with a dot per point.
fn line(id: &str, title: &str, data: &[(String, f64)], format: impl Fn(f64) -> String) -> String {
    let max = data.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(0.01);
    let plot_w = WIDTH - LEFT - 16.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let step = if data.len() > 1 { plot_w / (data.len() - 1) as f64 } else { 0.0 };
    let point = |i: usize, v: f64| (LEFT + 8.0 + step * i as f64, TOP + plot_h - v / max * plot_h);
    let mut svg = open(id, title);
    axes(&mut svg, max, &format);
    let points: Vec<String> = data
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let (x, y) = point(i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(svg, r#"<polyline class="line" points="{}"/>"#, points.join(" "));
    for (i, (label, value)) in data.iter().enumerate() {
        let (x, y) = point(i, *value);
        let _ = write!(
            svg,
            r#"<circle class="mark" cx="{x:.1}" cy="{y:.1}" r="3.5"><title>{}: {}</title></circle>"#,
            esc(label),
            format(*value)
        );
        if data.len() <= 10 || i % (data.len() / 6).max(1) == 0 {
            let anchor = match i {
                0 => "start",
                _ if i + 1 == data.len() => "end",
                _ => "middle",
            };
            let _ = write!(
                svg,
                r#"<text class="label" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
                HEIGHT - BOTTOM + 14.0,
                esc(label)
            );
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

fn open(id: &str, title: &str) -> String {
    format!(
        r#"<figure><figcaption>{}</figcaption><svg class="chart" data-chart="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title),
        esc(title)
    )
}

fn axes(svg: &mut String, max: f64, format: &impl Fn(f64) -> String) {
    let plot_h = HEIGHT - BOTTOM - TOP;
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(k) / 4.0;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - 8.0,
            LEFT - 4.0,
            y + 4.0,
            esc(&format(v))
        );
    }
}

fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
.figures{display:flex;gap:1.5em;flex-wrap:wrap}.figure{background:#f3f5f8;padding:.7em 1em;border-radius:6px}
.figure b{display:block;font-size:1.5em}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1em}
svg.chart{background:#fff;border:1px solid #dde;max-width:100%;height:auto}
svg .mark{fill:#3b6fb6}svg circle.mark{fill:#c0392b}svg .line{fill:none;stroke:#c0392b;stroke-width:2}
svg .grid{stroke:#e4e7ec}svg .label{font-size:11px;fill:#556}
table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #e4e7ec;padding:.3em .6em;text-align:left;vertical-align:top}
blockquote{margin:.2em 0;color:#555;font-style:italic}figure{margin:0}figcaption{font-weight:600;margin:.3em 0}";

/// The report as one page; `source` names the log in the heading.
pub fn page(report: &Report, source: &str) -> String {
    let daily: Vec<(String, f64)> =
        report.daily.iter().map(|d| (d.day.format("%m-%d").to_string(), d.rate)).collect();
    let reasons: Vec<(String, f64)> =
        report.by_reason.iter().map(|r| (r.name.clone(), r.conversations as f64)).collect();
    let weekly: Vec<(String, f64)> = report
        .weekly_silent
        .iter()
        .map(|w| (w.week.format("%m-%d").to_string(), w.silent_failures as f64))
        .collect();
    let waits: Vec<(String, f64)> = report.waits.iter().map(|b| (b.label.clone(), b.count as f64)).collect();
    let channels: Vec<(String, f64)> =
        report.by_customer_channel.iter().map(|g| (g.name.clone(), g.rate)).collect();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>handrail report: {}</title><style>{STYLE}</style></head><body>",
        esc(source)
    );
    let _ = write!(html, "<h1>handrail report: {}</h1>", esc(source));
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    let _ = write!(html, "<p>Conversations from {} to {}.</p>", when(report.first), when(report.last));
    let r = &report.resolution;
    let figures = [
        ("conversations", report.conversations.to_string()),
        ("handoff rate", format!("{:.1}%", report.handoff_rate * 100.0)),
        ("live / capture", format!("{} / {}", report.live, report.capture)),
        ("resolved / abandoned", format!("{} / {}", r.resolved, r.abandoned)),
        ("silent failures", report.silent_failures.len().to_string()),
    ];
    html.push_str("<div class=\"figures\">");
    for (name, value) in figures {
        let _ = write!(html, "<div class=\"figure\"><b>{}</b>{}</div>", esc(&value), esc(name));
    }
    html.push_str("</div><h2>Charts</h2><div class=\"charts\">");
    html.push_str(&line("handoff-rate", "Handoff rate per day", &daily, percent));
    html.push_str(&bars("channels", "Handoff rate by customer channel", &channels, true));
    html.push_str(&bars("reasons", "Escalations by reason", &reasons, false));
    html.push_str(&bars("silent-weekly", "Silent failures per week", &weekly, false));
    html.push_str(&bars("waits", "Wait for a person", &waits, false));
    html.push_str("</div>");
    html.push_str("<h2>By rule</h2><table><tr><th>rule</th><th>escalated</th><th>live</th><th>capture</th><th>resolved</th><th>unresolved</th><th>abandoned</th><th>one-reply</th></tr>");
    for g in &report.by_rule {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.name),
            g.escalated,
            g.live,
            g.capture,
            g.resolved,
            g.unresolved,
            g.abandoned,
            g.one_reply
        );
    }
    html.push_str("</table>");
    let _ = write!(
        html,
        "<h2>Silent failures ({})</h2><table><tr><th>conversation</th><th>when</th><th>what</th><th>near miss</th><th>last messages</th></tr>",
        report.silent_failures.len()
    );
    for f in &report.silent_failures {
        let messages: String =
            f.last_messages.iter().map(|m| format!("<blockquote>{}</blockquote>", esc(m))).collect();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}, then {}</td><td>{}</td><td>{messages}</td></tr>",
            esc(&f.conversation),
            f.started.format("%Y-%m-%d %H:%M"),
            esc(&f.shaky),
            esc(&f.ending),
            esc(&f.near_miss)
        );
    }
    html.push_str("</table>");
    if !report.over_eager.is_empty() {
        html.push_str("<h2>Over-eager rules</h2><ul>");
        for o in &report.over_eager {
            let _ = write!(
                html,
                "<li>{}: {} of {} resolved escalations took at most one agent reply</li>",
                esc(&o.rule),
                o.one_reply,
                o.resolved
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("</body></html>\n");
    html
}
