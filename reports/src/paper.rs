//! The paper's reported numbers (`configs/paper/*.csv`): first column the model as the
//! paper prints it, then one column per quantity.

use std::path::Path;

use anyhow::{Context, bail};

#[derive(Clone, Debug)]
pub struct PaperTable {
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

impl PaperTable {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let mut reader = csv::Reader::from_path(path)
            .with_context(|| format!("cannot read the paper's table {}", path.display()))?;
        let headers: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
        if headers.len() < 2 {
            bail!(
                "{}: expected a model column and at least one value column",
                path.display()
            );
        }
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
            // Text columns (the paper's "basics") hold no number; they are not compared.
            const TEXT_COLUMNS: [&str; 1] = ["basics"];
            let values = rec
                .iter()
                .skip(1)
                .zip(&headers[1..])
                .map(|(v, col)| {
                    let v = v.trim();
                    if v.is_empty() || v == "-" || TEXT_COLUMNS.contains(&col.as_str()) {
                        Ok(None)
                    } else {
                        v.parse::<f64>().map(Some).with_context(|| {
                            format!(
                                "{}: row {}, column '{col}': '{v}' is not a number",
                                path.display(),
                                i + 2
                            )
                        })
                    }
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            rows.push((rec[0].to_string(), values));
        }
        Ok(Self {
            columns: headers[1..].to_vec(),
            rows,
        })
    }

    /// The paper's value of `column` for `model` (by the paper's name).
    pub fn value(&self, model: &str, column: &str) -> Option<f64> {
        let c = self.columns.iter().position(|h| h == column)?;
        self.rows
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(model))
            .and_then(|(_, v)| v[c])
    }
}
