//! `vpbench evaluate`: scores given weights, such as the authors' own PyTorch checkpoints,
//! on a dataset's test clips with the harness's metrics, without training.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use vpbench_datasets::registry as datasets;
use vpbench_models::registry;

use crate::atomic::write_atomic;
use crate::data::{prepare, source_from_args};
use crate::device::ComputeDevice;
use crate::experiment::Profile;
use crate::host::HostInfo;
use crate::profile_file::parse_profiles;
use crate::record::{DataInfo, TestMetrics};
use crate::run::score_test_set;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Model name (see `vpbench models`); the authors' names are accepted too.
    #[arg(long)]
    pub model: String,
    /// The weights: a PyTorch checkpoint of the authors' code (`torch.save(model.state_dict())`,
    /// `.pth`/`.pt`, with or without DistributedDataParallel's `module.`) or a vpbench
    /// `final.safetensors`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Dataset whose test clips are scored.
    #[arg(long, default_value = "mmnist")]
    pub dataset: String,
    /// Profile giving frame size, sequence lengths, model size and eval batch.
    #[arg(long, default_value = "quick")]
    pub profile: String,
    /// Profile file (default: configs/profiles/<dataset>.toml).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// The checkpoint's hidden channels, where they differ from the profile's.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// The checkpoint's layers, where they differ from the profile's.
    #[arg(long)]
    pub layers: Option<usize>,
    /// A dataset file or folder in its real format (default: the synthetic twin).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Moving MNIST made from the MNIST digit files in this folder.
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// cpu (flex), vulkan:N, vulkan:cpu, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Write the scores and their provenance as JSON to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What `--out` holds.
#[derive(Serialize)]
struct Evaluation {
    model: String,
    weights: PathBuf,
    profile: String,
    data: DataInfo,
    device: String,
    backend: String,
    host: HostInfo,
    test: TestMetrics,
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<bool> {
    let dataset = datasets::lookup(&args.dataset)?;
    let profile = profile_of(args, dataset.name())?;
    let device = ComputeDevice::parse(&args.device)?;
    let mut model = registry::build(&args.model, &profile.model_config(), &device.device)?;
    load(&mut model, &args.weights)?;
    let source = source_from_args(args.data.clone(), args.mnist.clone())?;
    let data = prepare(dataset, &source, &profile)?;
    let test = score_test_set(&model, &data.test, &profile, dataset)?;
    print_scores(&args.model, &data.info, &test);
    if let Some(out) = &args.out {
        let evaluation = Evaluation {
            model: model.name().to_string(),
            weights: args.weights.clone(),
            profile: args.profile.clone(),
            data: data.info,
            device: device.name.clone(),
            backend: device.backend.clone(),
            host: HostInfo::collect(),
            test,
        };
        write_atomic(out, serde_json::to_string_pretty(&evaluation)?.as_bytes())?;
        println!("wrote {}", out.display());
    }
    Ok(true)
}

/// The named profile for the model, with the checkpoint's size where given.
fn profile_of(args: &EvaluateArgs, dataset: &str) -> anyhow::Result<Profile> {
    let path = args.profiles.clone().unwrap_or_else(|| PathBuf::from(format!("configs/profiles/{dataset}.toml")));
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read profile file {} (give --profiles)", path.display()))?;
    let profiles = parse_profiles(&text, &path)?;
    let profile = profiles.get(&args.profile).with_context(|| {
        format!("--profile: no profile '{}' in {}; defined: {}", args.profile, path.display(), profiles.keys().cloned().collect::<Vec<_>>().join(", "))
    })?;
    let mut profile = profile.for_model(&args.model);
    profile.hidden = args.hidden.unwrap_or(profile.hidden);
    profile.layers = args.layers.unwrap_or(profile.layers);
    Ok(profile)
}

/// A vpbench safetensors file by its extension, anything else as a PyTorch checkpoint.
fn load(model: &mut vpbench_models::Model, weights: &Path) -> anyhow::Result<()> {
    let safetensors = weights.extension().is_some_and(|e| e == "safetensors");
    if safetensors {
        model.load_weights(weights)?;
    } else {
        model.load_pytorch_checkpoint(weights)?;
    }
    Ok(())
}

fn print_scores(model: &str, data: &DataInfo, test: &TestMetrics) {
    println!("{model} on {} ({}, {} test clips)", data.dataset, data.label, data.test_clips);
    println!("  test loss {:.6}", test.loss);
    for q in [&test.authors, &test.common] {
        println!(
            "  {:?}: MSE {:.4}, MAE {:.4}, SSIM {:.4}, PSNR {:.3} over frames {:?}",
            q.convention, q.mse, q.mae, q.ssim, q.psnr, q.frames
        );
    }
    if let Some(skill) = &test.skill {
        for t in &skill.thresholds {
            println!("  {} mm/h: CSI {:.4}, HSS {:.4}", t.rain_mm_h, t.mean_csi, t.mean_hss);
        }
    }
}
