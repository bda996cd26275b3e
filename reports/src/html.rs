//! One self-contained HTML page per output folder: every table beside the paper's numbers,
//! every figure inline (SVG), the provenance of every number and a link to each run's
//! record. No script, no server, no file or font from elsewhere.

use std::fmt::Write as _;

use vpbench_harness::record::{RunRecord, RunStatus};

use crate::comparison::{ComparisonTable, measured_cell};

/// A figure as drawn into the folder, its SVG text inlined.
pub struct InlineFigure {
    pub name: String,
    pub svg: String,
}

/// One table of the folder, with its figures and the runs behind it.
pub struct ReportSection {
    pub table: ComparisonTable,
    pub figures: Vec<InlineFigure>,
    pub runs: Vec<RunRecord>,
    /// Runs of the table without a record (not trained yet), by run id.
    pub missing: Vec<String>,
}

/// An evaluation beyond the paper (`cargo xtask evaluate`): its table as rendered cells,
/// its provenance and its figure.
pub struct EvaluationSection {
    pub title: String,
    pub provenance: Vec<String>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub figure: Option<InlineFigure>,
}

pub struct ReportPage {
    pub title: String,
    pub sections: Vec<ReportSection>,
    pub evaluations: Vec<EvaluationSection>,
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:80em}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:.25em .5em}\
td.num{text-align:right;font-variant-numeric:tabular-nums}td.failed{color:#a00}\
th{background:#eee}div.wide{overflow-x:auto}figure{margin:1em 0}figure svg{max-width:100%;height:auto}\
ul.provenance{font-size:.9em;color:#333}";

/// `&`, `<`, `>` and `"` as entities.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl ReportPage {
    pub fn to_html(&self) -> String {
        let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        let _ = writeln!(out, "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>", escape(&self.title));
        let _ = writeln!(out, "<h1>{}</h1>", escape(&self.title));
        for section in &self.sections {
            section.write_html(&mut out);
        }
        for evaluation in &self.evaluations {
            evaluation.write_html(&mut out);
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

impl ReportSection {
    fn write_html(&self, out: &mut String) {
        let t = &self.table;
        let _ = writeln!(out, "<section>\n<h2>{}</h2>\n<ul class=\"provenance\">", escape(&t.title));
        for line in &t.provenance {
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>\n");
        out.push_str("<div class=\"wide\">\n");
        write_table(out, t);
        out.push_str("</div>\n");
        if !self.missing.is_empty() {
            let _ = writeln!(out, "<p class=\"missing\">Runs without a record, not in the table: {}</p>", escape(&self.missing.join(", ")));
        }
        for f in &self.figures {
            let _ = writeln!(out, "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>", escape(&f.name), svg_body(&f.svg), escape(&f.name));
        }
        write_runs(out, &self.runs);
        out.push_str("</section>\n");
    }
}

impl EvaluationSection {
    fn write_html(&self, out: &mut String) {
        let _ = writeln!(out, "<section class=\"evaluation\">\n<h2>{}</h2>\n<ul class=\"provenance\">", escape(&self.title));
        for line in &self.provenance {
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>\n<div class=\"wide\">\n<table class=\"evaluation\">\n<thead><tr>");
        for h in &self.header {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let class = if i == 0 { "" } else { " class=\"num\"" };
                let _ = write!(out, "<td{class}>{}</td>", escape(cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
        if let Some(f) = &self.figure {
            let _ = writeln!(out, "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>", escape(&f.name), svg_body(&f.svg), escape(&f.name));
        }
        out.push_str("</section>\n");
    }
}

/// Measured, paper and difference per column, as the Markdown table has them.
fn write_table(out: &mut String, t: &ComparisonTable) {
    out.push_str("<table class=\"comparison\">\n<thead><tr><th>Model</th>");
    if let Some(h) = &t.label_header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    for c in &t.columns {
        let h = escape(&c.header);
        let _ = write!(out, "<th>{h} measured</th><th>{h} paper</th><th>Δ</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let number = |v: Option<f64>, decimals: usize, signed: bool| match v {
        Some(x) if signed => format!("<td class=\"num\">{x:+.decimals$}</td>"),
        Some(x) => format!("<td class=\"num\">{x:.decimals$}</td>"),
        None => "<td class=\"num\">–</td>".to_string(),
    };
    for r in &t.rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(&r.model));
        if t.label_header.is_some() {
            let _ = write!(out, "<td>{}</td>", escape(r.label.as_deref().unwrap_or("")));
        }
        for (i, c) in t.columns.iter().enumerate() {
            match (&r.failure, r.measured[i]) {
                (Some(why), None) => {
                    let _ = write!(out, "<td class=\"failed\" title=\"{}\">failed</td>", escape(why));
                }
                (_, m) => {
                    let _ = write!(out, "<td class=\"num\">{}</td>", escape(&measured_cell(m, r.interval[i], r.std[i], c.decimals)));
                }
            }
            out.push_str(&number(r.paper[i], c.decimals, false));
            out.push_str(&number(r.delta[i], c.decimals, true));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Each run's record, linked relative to the page, with what it ran on.
fn write_runs(out: &mut String, runs: &[RunRecord]) {
    out.push_str("<table class=\"runs\">\n<thead><tr><th>Run record</th><th>Status</th><th>Profile</th><th>Data</th><th>Backend</th><th>Device</th><th>Commit</th></tr></thead>\n<tbody>\n");
    for r in runs {
        let status = match &r.status {
            RunStatus::Finished => "finished".to_string(),
            RunStatus::Failed { reason } => format!("failed: {reason}"),
        };
        let id = escape(&r.run_id);
        let _ = writeln!(
            out,
            "<tr><td><a href=\"runs/{id}/record.json\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&status),
            escape(&r.profile),
            escape(&r.data.label),
            escape(&r.backend),
            escape(&r.device),
            escape(&r.host.git_commit)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The `<svg>` element of an SVG file, without the XML declaration before it.
fn svg_body(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |at| &svg[at..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comparison::{Column, Row};

    #[test]
    fn a_page_escapes_text_inlines_svg_and_marks_failures() {
        let table = ComparisonTable {
            title: "Table 3: <ablation> & more".into(),
            label_header: None,
            provenance: vec!["Data: synthetic: \"glyphs\"".into()],
            columns: vec![Column { key: "mse".into(), header: "MSE".into(), decimals: 2 }],
            rows: vec![
                Row { model: "ConvLSTM".into(), label: None, failure: None, measured: vec![Some(7.1)], paper: vec![Some(7.0)], delta: vec![Some(0.1)], interval: vec![Some([6.9, 7.3])], std: vec![None] },
                Row { model: "MS-LSTM".into(), label: None, failure: Some("loss <nan>".into()), measured: vec![None], paper: vec![None], delta: vec![None], interval: vec![None], std: vec![None] },
            ],
        };
        let page = ReportPage {
            title: "out/mmnist-smoke".into(),
            sections: vec![ReportSection {
                table,
                figures: vec![InlineFigure { name: "fig4_radar".into(), svg: "<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>".into() }],
                runs: Vec::new(),
                missing: vec!["mim-mmnist-smoke-1".into()],
            }],
            evaluations: vec![EvaluationSection {
                title: "Robustness".into(),
                provenance: vec!["noise <0.05>".into()],
                header: vec!["Model".into(), "clean: MSE".into()],
                rows: vec![vec!["ConvLSTM".into(), "23.425".into()]],
                figure: None,
            }],
        };
        let html = page.to_html();
        assert!(html.contains("Table 3: &lt;ablation&gt; &amp; more"), "{html}");
        assert!(html.contains("synthetic: &quot;glyphs&quot;"));
        assert!(html.contains("<td class=\"num\">7.10 [6.90, 7.30]</td><td class=\"num\">7.00</td><td class=\"num\">+0.10</td>"));
        assert!(html.contains("title=\"loss &lt;nan&gt;\">failed</td><td class=\"num\">–</td>"));
        assert!(html.contains("<figure id=\"fig4_radar\">\n<svg width=\"1\"></svg>") && !html.contains("<?xml"));
        assert!(html.contains("not in the table: mim-mmnist-smoke-1"));
        assert!(html.contains("<li>noise &lt;0.05&gt;</li>") && html.contains("<td>ConvLSTM</td><td class=\"num\">23.425</td>"));
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    }
}
