//! Profile files (`configs/profiles/*.toml`): one table per profile, where a profile may
//! `extends = "other"` and give only what differs. Tables merge key by key (a nested table
//! such as `models.simvp` merges too); the result is checked as a [`Profile`].

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use toml::{Table, Value};

use crate::experiment::Profile;

/// Every profile of the file's text, its `extends` chains resolved. `path` names the file in
/// errors.
pub fn parse_profiles(text: &str, path: &Path) -> anyhow::Result<BTreeMap<String, Profile>> {
    let tables: Table = toml::from_str(text).with_context(|| format!("profile file {}", path.display()))?;
    let mut profiles = BTreeMap::new();
    for name in tables.keys() {
        let resolved = resolve(&tables, name, path, &mut Vec::new())?;
        let profile: Profile = Value::Table(resolved)
            .try_into()
            .with_context(|| format!("profile file {}: profile '{name}'", path.display()))?;
        profiles.insert(name.clone(), profile);
    }
    Ok(profiles)
}

/// The table of profile `name` with its ancestors merged under it; `chain` holds the
/// profiles on the way, to refuse a cycle.
fn resolve(tables: &Table, name: &str, path: &Path, chain: &mut Vec<String>) -> anyhow::Result<Table> {
    let file = path.display();
    if chain.iter().any(|n| n == name) {
        bail!("profile file {file}: profiles extend each other in a cycle: {} -> {name}", chain.join(" -> "));
    }
    let Some(Value::Table(own)) = tables.get(name) else {
        let from = chain.last().map(String::as_str).unwrap_or(name);
        bail!(
            "profile file {file}: {from}.extends: no profile '{name}' in this file; defined: {}",
            tables.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let mut own = own.clone();
    let Some(parent) = own.remove("extends") else {
        return Ok(own);
    };
    let Value::String(parent) = parent else {
        bail!("profile file {file}: {name}.extends: expected the name of a profile (a string), found {parent}");
    };
    chain.push(name.to_string());
    let mut merged = resolve(tables, &parent, path, chain)?;
    chain.pop();
    merge(&mut merged, own);
    Ok(merged)
}

/// `over`'s keys replace `base`'s, except that two tables merge.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[paper]
description = "base"
frame_size = 64
in_len = 10
out_len = 10
hidden = 32
layers = 6
kernel = 3
generated_clips = 100
epochs = 40
batch = 4
eval_batch = 4
learning_rate = 3e-4
valid_every = 2
seed = 2022

[paper.models.simvp]
epochs = 51
batch = 16
"#;

    fn parse(extra: &str) -> anyhow::Result<BTreeMap<String, Profile>> {
        parse_profiles(&format!("{BASE}{extra}"), Path::new("p.toml"))
    }

    #[test]
    fn a_profile_that_extends_another_takes_its_fields_and_merges_its_models() {
        let set = parse(
            "[long]\nextends = \"paper\"\ndescription = \"long\"\nepochs = 80\n[long.models.simvp]\nepochs = 2000\n\
             [longer]\nextends = \"long\"\ndescription = \"longer\"\nbatch = 8\n",
        )
        .unwrap();
        let (paper, long, longer) = (&set["paper"], &set["long"], &set["longer"]);
        assert_eq!((long.epochs, long.batch, long.frame_size), (80, 4, 64));
        let simvp = &long.models["simvp"];
        assert_eq!((simvp.epochs, simvp.batch), (Some(2000), Some(16)));
        assert_eq!((longer.epochs, longer.batch, &longer.description[..]), (80, 8, "longer"));
        assert_eq!(paper.models["simvp"].epochs, Some(51));
    }

    #[test]
    fn an_unknown_parent_a_cycle_and_a_bad_field_are_refused_by_name() {
        let e = parse("[a]\nextends = \"nope\"\n").unwrap_err().to_string();
        assert!(e.contains("p.toml") && e.contains("a.extends") && e.contains("'nope'"), "{e}");
        let e = parse("[a]\nextends = \"b\"\n[b]\nextends = \"a\"\n").unwrap_err().to_string();
        assert!(e.contains("cycle"), "{e}");
        let e = format!("{:#}", parse("[a]\nextends = \"paper\"\nepoch = 3\n").unwrap_err());
        assert!(e.contains("profile 'a'") && e.contains("epoch"), "{e}");
        let e = parse("[a]\nextends = 3\n").unwrap_err().to_string();
        assert!(e.contains("a.extends") && e.contains("string"), "{e}");
    }

    /// Every profile of every shipped experiment resolves and applies to each of its models,
    /// and the profiles written with `extends` are their parents with only what they name.
    #[test]
    fn every_shipped_profile_resolves() {
        use crate::experiment::{DataLayout, Experiment};
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut resolved = 0;
        for entry in std::fs::read_dir(&configs).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !(name.starts_with("table") && name.ends_with(".toml")) {
                continue;
            }
            let exp = Experiment::load(&path).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            for profile in exp.profile_set.values() {
                for model in &exp.models {
                    assert!(profile.for_model(model).models.is_empty());
                }
                resolved += 1;
            }
        }
        assert!(resolved >= 9 * 3, "only {resolved} profiles in {}", configs.display());

        let mmnist = Experiment::load(&configs.join("table3.toml")).unwrap().profile_set;
        let mut long = mmnist["paper-simvp-2000"].clone();
        assert_eq!(long.models["simvp"].epochs, Some(2000));
        long.description = mmnist["paper"].description.clone();
        long.models.get_mut("simvp").unwrap().epochs = Some(51);
        assert_eq!(long, mmnist["paper"]);

        let taxibj = Experiment::load(&configs.join("table7.toml")).unwrap().profile_set;
        let mut common = taxibj["paper-common"].clone();
        assert_eq!((common.channels, common.layout), (2, DataLayout::Common));
        common.description = taxibj["paper"].description.clone();
        (common.channels, common.layout) = (1, DataLayout::Authors);
        assert_eq!(common, taxibj["paper"]);
    }
}
