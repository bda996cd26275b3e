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
    /// The bootstrap 95% interval of the measured value, where it has one (quality columns).
    pub interval: Vec<Option<[f64; 2]>>,
    /// The standard deviation over seeds, where the model ran with several.
    pub std: Vec<Option<f64>>,
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

/// `mean ± std` over seeds, `value [low, high]` with a bootstrap interval, or the value.
pub fn measured_cell(v: Option<f64>, interval: Option<[f64; 2]>, std: Option<f64>, decimals: usize) -> String {
    match (v, interval, std) {
        (Some(x), _, Some(s)) => format!("{x:.decimals$} ± {s:.decimals$}"),
        (Some(x), Some([lo, hi]), None) => format!("{x:.decimals$} [{lo:.decimals$}, {hi:.decimals$}]"),
        _ => fmt(v, decimals),
    }
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
                    measured_cell(r.measured[i], r.interval[i], r.std[i], c.decimals)
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
                format!("{}_ci95_low", c.key),
                format!("{}_ci95_high", c.key),
                format!("{}_std", c.key),
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
                let [lo, hi] = r.interval[i].map_or([None, None], |[lo, hi]| [Some(lo), Some(hi)]);
                rec.extend([num(r.measured[i]), num(lo), num(hi), num(r.std[i]), num(r.paper[i]), num(r.delta[i])]);
            }
            rec.push(how.clone());
            w.write_record(&rec)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    pub fn to_latex(&self) -> String {
        let esc = latex_escape;
        let mut out = String::new();
        // comments end at the line's end: nothing in them needs escaping but a line break
        let _ = writeln!(out, "% {}", self.title.replace('\n', " "));
        for line in &self.provenance {
            let _ = writeln!(out, "% {}", line.replace('\n', " "));
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
                .map(|_| esc(r.label.as_deref().unwrap_or_default()))
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
                    esc(&format!("{m} ({})", fmt(r.paper[i], c.decimals)))
                })
                .collect();
            cells.extend(values);
            let _ = writeln!(out, "{} & {} \\\\", esc(&r.model), cells.join(" & "));
        }
        let _ = writeln!(out, "\\hline\n\\end{{tabular}}\n\\end{{table}}");
        out
    }
}

/// `text` as LaTeX text: the ten special characters escaped (`\ { } $ & % # _ ^ ~`), the
/// non-ASCII symbols the tables and provenance lines use spelled in plain LaTeX, so the
/// output compiles with pdflatex and no extra package.
pub fn latex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' | '}' | '$' | '&' | '%' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '^' => out.push_str("\\textasciicircum{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '–' => out.push_str("--"),
            '—' => out.push_str("---"),
            '→' => out.push_str("$\\rightarrow$"),
            '×' => out.push_str("$\\times$"),
            '±' => out.push_str("$\\pm$"),
            '≤' => out.push_str("$\\leq$"),
            '≥' => out.push_str("$\\geq$"),
            '‖' => out.push_str("$\\|$"),
            '·' => out.push_str("$\\cdot$"),
            '−' => out.push_str("$-$"),
            c if c.is_ascii() => out.push(c),
            // anything else: its code point, so that nothing breaks the document
            c => out.push_str(&format!("\\symbol{{{}}}", c as u32)),
        }
    }
    out
}

/// The first problem of LaTeX `tex` outside comment lines: unbalanced braces, an unescaped
/// special character, a non-ASCII character (what pdflatex would reject or misprint).
pub fn latex_problem(tex: &str) -> Option<String> {
    for line in tex.lines().filter(|l| !l.starts_with('%')) {
        let mut depth = 0i32;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                // an escaped character, or the first letter of a command
                '\\' => {
                    chars.next();
                }
                '{' => depth += 1,
                '}' => depth -= 1,
                '_' | '^' | '#' | '%' | '~' => return Some(format!("unescaped {c:?} in {line:?}")),
                c if !c.is_ascii() => return Some(format!("non-ASCII {c:?} in {line:?}")),
                _ => {}
            }
            if depth < 0 {
                return Some(format!("unbalanced braces in {line:?}"));
            }
        }
        if depth != 0 {
            return Some(format!("unbalanced braces in {line:?}"));
        }
    }
    None
}

#[cfg(test)]
mod latex_tests {
    use super::*;

    fn assert_well_formed(tex: &str) {
        if let Some(problem) = latex_problem(tex) {
            panic!("{problem}");
        }
    }

    fn nasty_table() -> ComparisonTable {
        let name = r"Model_a^b $c$ {d} ~e \\f & 50% #1 – ‖x‖ → 2×3 ±1 ≤ ≥ é";
        ComparisonTable {
            title: name.into(),
            label_header: Some("Basics_{x}".into()),
            provenance: vec![name.into(), "Profile: quick (32x32, 5 -> 5)".into()],
            columns: vec![Column { key: "mse".into(), header: "MSE_1 (%)".into(), decimals: 2 }],
            rows: vec![Row {
                model: name.into(),
                label: Some("RNN & CNN".into()),
                failure: None,
                measured: vec![Some(1.5)],
                paper: vec![None],
                delta: vec![None],
                interval: vec![Some([1.25, 1.75])],
                std: vec![None],
            }],
        }
    }

    #[test]
    fn every_special_character_is_escaped() {
        let escaped = latex_escape(r"a_b^c$d{e}~f\g&h%i#j");
        assert_eq!(escaped, r"a\_b\textasciicircum{}c\$d\{e\}\textasciitilde{}f\textbackslash{}g\&h\%i\#j");
        assert_well_formed(&nasty_table().to_latex());
    }

    /// Compiles the table with pdflatex where a TeX engine is installed (Debian's texlive);
    /// says so where it is not.
    #[test]
    fn the_table_compiles_with_pdflatex() {
        let Ok(status) = std::process::Command::new("pdflatex").arg("--version").output() else {
            println!("SKIPPED: pdflatex not installed (Debian: texlive-latex-base); checked well-formed only");
            return;
        };
        assert!(status.status.success());
        let dir = std::env::temp_dir().join(format!("vpbench-tex-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = format!("\\documentclass{{article}}\n\\begin{{document}}\n{}\\end{{document}}\n", nasty_table().to_latex());
        std::fs::write(dir.join("t.tex"), doc).unwrap();
        let out = std::process::Command::new("pdflatex")
            .args(["-interaction=nonstopmode", "-halt-on-error", "t.tex"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
