//! `vpbench cost`: trainable parameters and paper-convention MACs of a model.

use clap::Args;
use vpbench_datasets::Dataset;
use vpbench_datasets::registry as datasets;
use vpbench_models::cost::cost_report;
use vpbench_models::{ModelConfig, registry};

#[derive(Args, Debug)]
pub struct CostArgs {
    /// Model name (see `vpbench models`); the authors' names are accepted too.
    #[arg(long)]
    pub model: String,
    /// Dataset whose paper configuration sets frame size and sequence length.
    #[arg(long, default_value = "mmnist")]
    pub dataset: String,
    /// Hidden channels (the paper's tables use 32).
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// One JSON object on one line.
    #[arg(long)]
    pub json: bool,
}

/// The paper's model configuration on `dataset` with `hidden` channels, 6 layers, k = 3.
pub fn paper_config(dataset: &dyn Dataset, hidden: usize) -> ModelConfig {
    let g = dataset.paper_geometry();
    ModelConfig {
        image_channels: g.channels,
        height: g.height,
        width: g.width,
        hidden,
        layers: 6,
        kernel: 3,
        in_len: g.in_len,
        out_len: g.out_len,
    }
}

pub fn run(args: &CostArgs) -> anyhow::Result<()> {
    let dataset = datasets::lookup(&args.dataset)?;
    let config = paper_config(dataset, args.hidden);
    let model = registry::build(&args.model, &config, &burn::tensor::Device::flex())?;
    let report = cost_report(&model)?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["dataset"] = dataset.name().into();
        value["config"] = serde_json::to_value(&config)?;
        println!("{}", serde_json::to_string(&value)?);
    } else {
        println!("model    {}", report.model);
        println!(
            "dataset  {} ({}x{}x{}, {} in + {} out, {} steps)",
            dataset.name(),
            config.height,
            config.width,
            config.image_channels,
            config.in_len,
            config.out_len,
            config.steps()
        );
        println!("params   {}", report.params);
        println!(
            "MACs     {} ({:.3} G, one sequence, batch 1)",
            report.macs,
            report.macs as f64 / 1e9
        );
        let b = report.macs_breakdown;
        println!(
            "         conv {} + conv-transpose {} + linear {} + layer-norm {} + upsample {} + softmax {}; activation matmul {} (not counted)",
            b.conv, b.conv_transpose, b.linear, b.norm, b.upsample, b.softmax, b.matmul
        );
    }
    Ok(())
}
