//! A table of measured values beside the paper's, with the difference, rendered as
//! Markdown, CSV and LaTeX. Every rendering carries how the numbers were measured.

use std::fmt::Write as _;

#[derive(Clone, Debug)]
pub struct Column {
    /// Key in the paper's CSV.
    pub key: String,
    pub header: String,
    pub decimals: usize,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub model: String,
    /// A text column beside the model (the paper's "Basics": RNN, CNN, Attention).
    pub label: Option<String>,
    /// `None` where the run failed, with the reason.
    pub failure: Option<String>,
    pub measured: Vec<Option<f64>>,
    pub paper: Vec<Option<f64>>,
    /// `measured - paper` where both exist.
    pub delta: Vec<Option<f64>>,
}

#[derive(Clone, Debug)]
pub struct ComparisonTable {
    pub title: String,
    /// Header of the rows' text label, if they have one.
    pub label_header: Option<String>,
    /// How the measured numbers were obtained (profile, data, backend, device, ...).
    pub provenance: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.decimals$}"))
}

fn signed(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:+.decimals$}"))
}

impl ComparisonTable {
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for line in &self.provenance {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
        out.push_str("| Model |");
        let labelled = self.label_header.is_some();
        if let Some(h) = &self.label_header {
            let _ = write!(out, " {h} |");
        }
        for c in &self.columns {
            let _ = write!(out, " {} measured | {} paper | Δ |", c.header, c.header);
        }
        out.push_str("\n|---|");
        if labelled {
            out.push_str("---|");
        }
        out.push_str(&"---:|".repeat(3 * self.columns.len()));
        out.push('\n');
        for r in &self.rows {
            let _ = write!(out, "| {} |", r.model);
            if labelled {
                let _ = write!(out, " {} |", r.label.as_deref().unwrap_or(""));
            }
            for (i, c) in self.columns.iter().enumerate() {
                let m = if r.failure.is_some() && r.measured[i].is_none() {
                    "failed".to_string()
                } else {
                    fmt(r.measured[i], c.decimals)
                };
                let _ = write!(
                    out,
                    " {m} | {} | {} |",
                    fmt(r.paper[i], c.decimals),
                    signed(r.delta[i], c.decimals)
                );
            }
            out.push('\n');
        }
        let failures: Vec<_> = self
            .rows
            .iter()
            .filter_map(|r| Some((&r.model, r.failure.as_ref()?)))
            .collect();
        if !failures.is_empty() {
            out.push_str("\nFailed runs:\n");
            for (m, why) in failures {
                let _ = writeln!(out, "- {m}: {why}");
            }
        }
        out
    }

    pub fn to_csv(&self) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["model".to_string(), "status".to_string()];
        if let Some(h) = &self.label_header {
            header.push(h.to_lowercase());
        }
        for c in &self.columns {
            header.extend([
                format!("{}_measured", c.key),
                format!("{}_paper", c.key),
                format!("{}_delta", c.key),
            ]);
        }
        header.push("measured_how".to_string());
        w.write_record(&header)?;
        let how = self.provenance.join("; ");
        for r in &self.rows {
            let mut rec = vec![
                r.model.clone(),
                r.failure
                    .as_ref()
                    .map_or("finished".into(), |f| format!("failed: {f}")),
            ];
            if self.label_header.is_some() {
                rec.push(r.label.clone().unwrap_or_default());
            }
            for (i, _) in self.columns.iter().enumerate() {
                let num = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
                rec.extend([num(r.measured[i]), num(r.paper[i]), num(r.delta[i])]);
            }
            rec.push(how.clone());
            w.write_record(&rec)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    pub fn to_latex(&self) -> String {
        let esc = |s: &str| {
            s.replace('_', "\\_")
                .replace('%', "\\%")
                .replace('&', "\\&")
                .replace('#', "\\#")
        };
        let mut out = String::new();
        let _ = writeln!(out, "% {}", self.title);
        for line in &self.provenance {
            let _ = writeln!(out, "% {line}");
        }
        let _ = writeln!(out, "\\begin{{table}}[t]\n\\centering");
        let _ = writeln!(
            out,
            "\\caption{{{} (measured, with the paper's value in parentheses). {}}}",
            esc(&self.title),
            esc(&self.provenance.join(". "))
        );
        let label_col = if self.label_header.is_some() { "l" } else { "" };
        let _ = writeln!(
            out,
            "\\begin{{tabular}}{{l{label_col}{}}}\n\\hline",
            "r".repeat(self.columns.len())
        );
        let mut headers: Vec<String> = self.label_header.iter().map(|h| esc(h)).collect();
        headers.extend(self.columns.iter().map(|c| esc(&c.header)));
        let _ = writeln!(out, "Model & {} \\\\\n\\hline", headers.join(" & "));
        for r in &self.rows {
            let mut cells: Vec<String> = self
                .label_header
                .iter()
                .map(|_| r.label.clone().unwrap_or_default())
                .collect();
            let values: Vec<String> = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let m = if r.failure.is_some() && r.measured[i].is_none() {
                        "failed".to_string()
                    } else {
                        fmt(r.measured[i], c.decimals)
                    };
                    format!("{m} ({})", fmt(r.paper[i], c.decimals))
                })
                .collect();
            cells.extend(values);
            let _ = writeln!(
                out,
                "{} & {} \\\\",
                esc(&r.model),
                cells.join(" & ").replace('–', "--")
            );
        }
        let _ = writeln!(out, "\\hline\n\\end{{tabular}}\n\\end{{table}}");
        out
    }
}
