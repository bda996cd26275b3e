//! One gate convolution, forward and forward+backward, burn-flex's and ours, at a given shape:
//! `cargo run --example conv_speed -p vpbench-kernels -- BATCH CHANNELS SIZE [KERNEL [ours]]` (KERNEL: 3;
//! `ours` times only vpbench-kernels, 5x as often: for a profile of our convolution alone).
use std::time::Instant;

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};
use vpbench_kernels::Conv2d;

fn millis<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    f();
    let t = Instant::now();
    (0..reps).for_each(|_| f());
    t.elapsed().as_secs_f64() * 1e3 / reps as f64
}

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).take(4).map(|a| a.parse().expect("BATCH CHANNELS SIZE")).collect();
    let (b, c, s) = (a[0], a[1], a[2]);
    let k = a.get(3).copied().unwrap_or(3);
    let ours_only = std::env::args().nth(5).as_deref() == Some("ours");
    let base = Device::flex();
    let burn_conv = Conv2dConfig::new([c, 4 * c], [k, k]).with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2)).init(&base);
    let ours: Conv2d = burn_conv.clone().into();
    let x = Tensor::<4>::random([b, c, s, s], Distribution::Default, &base);
    let gmacs = (b * s * s * c * 4 * c * k * k) as f64 / 1e9;
    let ad = base.autodiff();
    let xa = x.clone().to_device(&ad).autodiff().require_grad();
    let (burn_ad, ours_ad) = (burn_conv.clone().fork(&ad).train(), ours.clone().fork(&ad).train());
    let reps = if ours_only { 5 } else { 1 };
    let mut runs = Vec::new();
    if !ours_only {
        runs.push(("burn-flex", millis(10, || { burn_conv.forward(x.clone()).into_data(); }),
            millis(5, || { let g = burn_ad.forward(xa.clone()).sum().backward(); xa.grad(&g).unwrap().into_data(); })));
    }
    runs.push(("vpbench-kernels", millis(10 * reps, || { ours.forward(x.clone()).into_data(); }),
        millis(5 * reps, || { let g = ours_ad.forward(xa.clone()).sum().backward(); xa.grad(&g).unwrap().into_data(); })));
    for (name, fwd, train) in runs {
        println!("{name:16} forward {fwd:8.2} ms ({:5.1} GMAC/s)   forward+backward {train:8.2} ms ({:5.1} GMAC/s)", gmacs / fwd * 1e3, 3.0 * gmacs / train * 1e3);
    }
}
