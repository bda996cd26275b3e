//! Turns a data source and a profile into train and test clips: the dataset loads them, the
//! profile caps them.

use std::path::PathBuf;

use anyhow::{Context, bail};
pub use vpbench_datasets::DataSource;
use vpbench_datasets::{Dataset, Sequences, moving_mnist};

use crate::experiment::Profile;
use crate::record::DataInfo;

/// Train and test clips, ready for batching.
pub struct DataSplit {
    pub train: Sequences,
    pub test: Sequences,
    pub info: DataInfo,
}

/// The clips of `dataset` from `source`, at the profile's sizes, capped at its clip counts.
pub fn prepare(dataset: &dyn Dataset, source: &DataSource, profile: &Profile) -> anyhow::Result<DataSplit> {
    let loaded = dataset.load(source, &profile.clip_request())?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let train = cap(loaded.train, profile.max_train_clips);
    let test = cap(loaded.test, profile.max_test_clips);
    if train.count == 0 || test.count == 0 {
        bail!(
            "{}: {} training and {} test clips; a run needs at least one of each",
            train.provenance.source,
            train.count,
            test.count
        );
    }
    let info = DataInfo {
        dataset: dataset.name().to_string(),
        synthetic: train.provenance.synthetic,
        label: train.provenance.label(),
        train_clips: train.count,
        test_clips: test.count,
        warnings: loaded.warnings,
    };
    Ok(DataSplit { train, test, info })
}

fn cap(s: Sequences, max: Option<usize>) -> Sequences {
    match max {
        Some(m) if m < s.count => s.range(0, m),
        _ => s,
    }
}

/// `--data`/`--mnist` as given on the command line.
pub fn source_from_args(data: Option<PathBuf>, mnist: Option<PathBuf>) -> anyhow::Result<DataSource> {
    match (data, mnist) {
        (Some(_), Some(_)) => bail!("give either --data or --mnist, not both"),
        (Some(p), None) => {
            if !p.exists() {
                bail!("--data {}: no such file or folder", p.display());
            }
            Ok(DataSource::Path(p))
        }
        (None, Some(p)) => {
            moving_mnist::find_mnist_images(&p).context("--mnist")?;
            Ok(DataSource::MnistDigits(p))
        }
        (None, None) => Ok(DataSource::Synthetic),
    }
}
