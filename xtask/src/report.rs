//! `cargo xtask report`: one self-contained `index.html` per output folder, from the run
//! records and the figures already there (nothing is trained or drawn again).

use std::collections::BTreeMap;
use std::path::PathBuf;

use vpbench_harness::atomic::write_atomic;
use clap::ValueEnum;
use vpbench_reports::html::{EvaluationSection, InlineFigure, ReportPage, ReportSection};
use vpbench_reports::paper::PaperTable;
use vpbench_reports::paper_table::table;

use crate::evaluate::{Dimension, DimensionReport};
use crate::reproduce::{ExistingSweep, RecordedRunsArgs, existing_sweeps};

pub fn run(args: &RecordedRunsArgs) -> anyhow::Result<bool> {
    let mut pages: BTreeMap<PathBuf, Vec<Numbered>> = BTreeMap::new();
    for existing in existing_sweeps(&args.profile, &args.source, &args.out_root)? {
        let number = existing.experiment.table;
        match section(&existing) {
            Ok(Some(section)) => pages.entry(existing.out_dir.clone()).or_default().push(Numbered { table_number: number, section }),
            Ok(None) => {}
            Err(e) => println!("table {number}: skipped: {e:#}"),
        }
    }
    if pages.is_empty() {
        println!("report: no records of profile '{}' under {}", args.profile, args.out_root.display());
        return Ok(false);
    }
    for (dir, sections) in pages {
        let evaluations = evaluations(&dir, sections.iter().map(|s| s.table_number).collect())?;
        let (tables, figures) = (sections.len() + evaluations.len(), sections.iter().map(|s| s.section.figures.len()).sum::<usize>() + evaluations.iter().filter(|e| e.figure.is_some()).count());
        let sections = sections.into_iter().map(|s| s.section).collect();
        let page = ReportPage { title: format!("vpbench: {}", dir.display()), sections, evaluations };
        let path = dir.join("index.html");
        write_atomic(&path, page.to_html().as_bytes())?;
        println!("report: wrote {} ({tables} tables, {figures} figures)", path.display());
    }
    Ok(true)
}

/// A paper table's section and its number.
struct Numbered {
    table_number: u32,
    section: ReportSection,
}

/// The evaluations (`cargo xtask evaluate`) written into `dir` for these tables, with
/// their figures.
fn evaluations(dir: &std::path::Path, tables: Vec<u32>) -> anyhow::Result<Vec<EvaluationSection>> {
    let mut found = Vec::new();
    for table in tables {
        for &dimension in Dimension::value_variants() {
            let stem = DimensionReport::stem(dimension, table);
            let json = dir.join(format!("{stem}.json"));
            if !json.is_file() {
                continue;
            }
            let report = DimensionReport::read(&json)?;
            let (header, rows) = report.cells();
            let figure = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).ok().map(|svg| InlineFigure { name: stem.clone(), svg });
            found.push(EvaluationSection { title: report.title(), provenance: report.provenance().to_vec(), header, rows, figure });
        }
    }
    Ok(found)
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
