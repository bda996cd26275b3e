//! Frame size and sequence split of each dataset, as the paper trains on it.

use serde::{Deserialize, Serialize};

/// The datasets of the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    MovingMnist,
    TaxiBj,
    Kth,
    GermanRadar,
}

/// Shape of one sequence: `in_len + out_len` frames of `channels x height x width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub in_len: usize,
    pub out_len: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown dataset '{0}'; known datasets: mmnist, taxibj, kth, radar")]
pub struct UnknownDataset(pub String);

impl DatasetKind {
    pub const ALL: [DatasetKind; 4] = [
        DatasetKind::MovingMnist,
        DatasetKind::TaxiBj,
        DatasetKind::Kth,
        DatasetKind::GermanRadar,
    ];

    /// Short name used on the command line and in configs.
    pub fn short_name(self) -> &'static str {
        match self {
            DatasetKind::MovingMnist => "mmnist",
            DatasetKind::TaxiBj => "taxibj",
            DatasetKind::Kth => "kth",
            DatasetKind::GermanRadar => "radar",
        }
    }

    /// Accepts the short name, the kebab-case name, or a common spelling.
    pub fn parse(name: &str) -> Result<Self, UnknownDataset> {
        let n = name.to_ascii_lowercase().replace(['_', ' '], "-");
        match n.as_str() {
            "mmnist" | "moving-mnist" | "movingmnist" => Ok(DatasetKind::MovingMnist),
            "taxibj" | "taxi-bj" => Ok(DatasetKind::TaxiBj),
            "kth" => Ok(DatasetKind::Kth),
            "radar" | "german-radar" | "dwd" => Ok(DatasetKind::GermanRadar),
            _ => Err(UnknownDataset(name.to_string())),
        }
    }

    /// The configuration the paper reports (its section 4 and tables 3-11).
    pub fn paper_geometry(self) -> Geometry {
        let (side, in_len, out_len) = match self {
            DatasetKind::MovingMnist => (64, 10, 10),
            DatasetKind::TaxiBj => (32, 4, 4),
            DatasetKind::Kth => (128, 10, 10),
            DatasetKind::GermanRadar => (180, 4, 4),
        };
        Geometry {
            channels: 1,
            height: side,
            width: side,
            in_len,
            out_len,
        }
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short_name())
    }
}
