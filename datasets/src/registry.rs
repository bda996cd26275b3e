//! Every dataset by name, as `models::registry` holds every model: adding a dataset is its
//! own file with a [`Dataset`] implementation, plus one line here.

use crate::Dataset;
use crate::kth::Kth;
use crate::moving_mnist::MovingMnist;
use crate::radar::GermanRadar;
use crate::taxibj::TaxiBj;

/// The datasets, in the paper's order.
pub static DATASETS: &[&dyn Dataset] = &[&MovingMnist, &TaxiBj, &Kth, &GermanRadar];

#[derive(Debug, thiserror::Error)]
#[error("unknown dataset '{given}'; known datasets: {}", names().join(", "))]
pub struct UnknownDataset {
    pub given: String,
}

/// The registry names, in order.
pub fn names() -> Vec<&'static str> {
    DATASETS.iter().map(|d| d.name()).collect()
}

/// The dataset of a name or alias, in any case, with `_` or spaces for `-`.
pub fn lookup(name: &str) -> Result<&'static dyn Dataset, UnknownDataset> {
    let wanted = name.to_ascii_lowercase().replace(['_', ' '], "-");
    DATASETS
        .iter()
        .copied()
        .find(|d| d.name() == wanted || d.aliases().contains(&wanted.as_str()))
        .ok_or_else(|| UnknownDataset { given: name.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_alias_finds_its_own_dataset_and_no_two_clash() {
        let mut seen = std::collections::BTreeSet::new();
        for d in DATASETS {
            for n in std::iter::once(d.name()).chain(d.aliases().iter().copied()) {
                assert!(seen.insert(n), "{n} names two datasets");
                assert_eq!(lookup(n).unwrap().name(), d.name());
                assert_eq!(lookup(&n.to_uppercase()).unwrap().name(), d.name());
            }
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_known_ones() {
        let e = lookup("hko7").unwrap_err().to_string();
        assert!(e.contains("'hko7'") && e.contains("mmnist, taxibj, kth, radar"), "{e}");
    }
}
