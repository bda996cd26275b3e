//! `cargo xtask report`: one self-contained `index.html` per output folder, from the run
//! records and the figures already there (nothing is trained or drawn again).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use vpbench_harness::atomic::write_atomic;
use vpbench_reports::html::{InlineFigure, ReportPage, ReportSection};
use vpbench_reports::paper::PaperTable;
use vpbench_reports::paper_table::table;

use crate::reproduce::{ExistingSweep, SourceArgs, existing_sweeps};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The profile whose runs to report.
    #[arg(long, default_value = "quick")]
    pub profile: String,
    /// The data and device the runs used (as given to reproduce-table).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Root holding the sweep folders (out/<dataset>-<profile>).
    #[arg(long, default_value = "out")]
    pub out_root: PathBuf,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<bool> {
    let mut pages: BTreeMap<PathBuf, Vec<ReportSection>> = BTreeMap::new();
    for existing in existing_sweeps(&args.profile, &args.source, &args.out_root)? {
        let number = existing.experiment.table;
        match section(&existing) {
            Ok(Some(section)) => pages.entry(existing.out_dir.clone()).or_default().push(section),
            Ok(None) => {}
            Err(e) => println!("table {number}: skipped: {e:#}"),
        }
    }
    if pages.is_empty() {
        println!("report: no records of profile '{}' under {}", args.profile, args.out_root.display());
        return Ok(false);
    }
    for (dir, sections) in pages {
        let (tables, figures) = (sections.len(), sections.iter().map(|s| s.figures.len()).sum::<usize>());
        let page = ReportPage { title: format!("vpbench: {}", dir.display()), sections };
        let path = dir.join("index.html");
        write_atomic(&path, page.to_html().as_bytes())?;
        println!("report: wrote {} ({tables} tables, {figures} figures)", path.display());
    }
    Ok(true)
}

/// A table with its figures' SVG files and records; `None` where the sweep has no record.
fn section(existing: &ExistingSweep) -> anyhow::Result<Option<ReportSection>> {
    let Ok(sweep) = &existing.sweep else {
        return Ok(None);
    };
    let exp = &existing.experiment;
    let paper = PaperTable::load(&exp.paper)?;
    let table = table(&sweep.records, &paper, exp, &existing.profile.description)?;
    let mut figures = Vec::new();
    for name in &exp.figures {
        let path = existing.out_dir.join(format!("{name}.svg"));
        match std::fs::read_to_string(&path) {
            Ok(svg) => figures.push(InlineFigure { name: name.clone(), svg }),
            Err(_) => println!("table {}: {} not drawn yet (cargo xtask figures draws it)", exp.table, path.display()),
        }
    }
    Ok(Some(ReportSection { table, figures, runs: sweep.records.clone(), missing: sweep.missing.clone() }))
}
