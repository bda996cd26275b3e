//! Every public operation of `vpbench-kernels` against burn's own operations on flex, on
//! many random shapes (seeded: a failure names its case and reproduces), at every vector
//! level this machine runs (scalar, AVX2, AVX-512: `vpbench_kernels::simd::force_level`).
//!
//! Shapes: odd and even sizes down to 1x1, channel counts that are and are not multiples of
//! 8 and 16, batches of 1 to 5, inputs that are channel chunks of a larger tensor (not
//! contiguous), joined inputs, zero inputs; values forward, gradients under autodiff, and
//! the evaluation-only paths (plain flex, no autodiff) on their own.
//!
//! This file is its own test binary because forcing a level is process-wide.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Distribution, Tensor};
use vpbench_kernels::Conv2d;
use vpbench_kernels::simd::{SimdLevel, clear_forced_level, force_level, runnable_levels};

/// Random cases per operation and level.
const CASES: usize = 12;

/// A small seeded generator (SplitMix64): the cases are the same on every run and machine.
struct Cases(u64);

impl Cases {
    fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.int(0, from.len() - 1)]
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
    /// A channel count: often a multiple of 8 or 16, or one off it, else anything small.
    fn channels(&mut self, most: usize) -> usize {
        let c = match self.int(0, 3) {
            0 => 8 * self.int(1, most.div_ceil(8)),
            1 => 16 * self.int(1, most.div_ceil(16)) + self.pick(&[1, 15]),
            _ => self.int(1, most),
        };
        c.clamp(1, most.max(1) + 16)
    }
}

/// `max |a - b| / max(1, max |b|)`.
fn relative<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let scale: f32 = b.clone().abs().max().into_scalar();
    let diff: f32 = (a - b).abs().max().into_scalar();
    diff / scale.max(1.0)
}

fn assert_close<const D: usize>(what: &str, a: Tensor<D>, b: Tensor<D>, tolerance: f32) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes differ");
    let error = relative(a, b);
    assert!(error <= tolerance, "{what}: relative error {error:e} over {tolerance:e}");
}

/// A `[b, c, h, w]` input, contiguous or a channel chunk of a wider tensor.
fn input(cases: &mut Cases, [b, c, h, w]: [usize; 4], device: &Device) -> Tensor<4> {
    if cases.coin() {
        let extra = cases.int(1, 5);
        let wide = Tensor::<4>::random([b, c + extra, h, w], Distribution::Normal(0.0, 1.0), device);
        let start = cases.int(0, extra);
        wide.narrow(1, start, c)
    } else {
        Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), device)
    }
}

/// Runs `check` for every level this machine runs, then restores the machine's level. The
/// level is process-wide, so the tests of this file take turns (together under a second).
fn at_every_level(name: &str, check: impl Fn(SimdLevel, &mut Cases)) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for level in runnable_levels() {
        force_level(level);
        let mut cases = Cases::new(0x5eed ^ name.len() as u64);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(level, &mut cases)));
        clear_forced_level();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// A convolution the models use: "same" 1x1, 3x3 and 5x5, the MotionGRU's 2x2 stride-2
/// encoder, valid and over-padded ones (burn's path), with and without bias.
#[derive(Debug, Clone, Copy)]
struct ConvCase {
    batch: usize,
    cin: usize,
    cout: usize,
    size: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: usize,
    bias: bool,
}

fn conv_case(cases: &mut Cases) -> ConvCase {
    let (kernel, stride, padding) = cases.pick(&[(3, 1, 1), (3, 1, 1), (5, 1, 2), (5, 1, 2), (1, 1, 0), (2, 2, 0), (3, 1, 0), (3, 2, 1)]);
    let size = [cases.int(kernel.max(1), 21), cases.int(kernel.max(1), 21)];
    ConvCase { batch: cases.int(1, 5), cin: cases.channels(20), cout: cases.channels(40), size, kernel, stride, padding, bias: cases.int(0, 3) > 0 }
}

fn burn_conv(case: &ConvCase, device: &Device) -> burn::nn::conv::Conv2d {
    let p = case.padding;
    Conv2dConfig::new([case.cin, case.cout], [case.kernel, case.kernel])
        .with_stride([case.stride, case.stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(case.bias)
        .init(device)
}

#[test]
fn convolution_forward_and_both_gradients() {
    at_every_level("convolution", |level, cases| {
        for _ in 0..CASES {
            let case = conv_case(cases);
            let what = format!("{level:?} {case:?}");
            let base = Device::flex();
            base.seed(cases.next());
            let theirs = burn_conv(&case, &base);
            let ours: Conv2d = theirs.clone().into();
            // evaluation: plain flex
            let x = input(cases, [case.batch, case.cin, case.size[0], case.size[1]], &base);
            assert_close(&format!("{what} forward (no autodiff)"), ours.forward(x.clone()), theirs.forward(x.clone()), 1e-5);
            // training: values and the input, weight and bias gradients
            let ad = base.autodiff();
            let (theirs, ours) = (theirs.fork(&ad).train(), ours.fork(&ad).train());
            let x = x.to_device(&ad).autodiff().require_grad();
            let out = theirs.forward(x.clone());
            let weights = Tensor::<4>::random(out.dims(), Distribution::Normal(0.0, 1.0), &ad);
            let g_burn = (out * weights.clone()).sum().backward();
            let mine = ours.forward(x.clone());
            let g_ours = (mine * weights).sum().backward();
            assert_close(&format!("{what} input gradient"), x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap(), 1e-4);
            assert_close(&format!("{what} weight gradient"), ours.weight.grad(&g_ours).unwrap(), theirs.weight.grad(&g_burn).unwrap(), 1e-4);
            if case.bias {
                let (b_ours, b_burn) = (ours.bias.as_ref().unwrap(), theirs.bias.as_ref().unwrap());
                assert_close(&format!("{what} bias gradient"), b_ours.grad(&g_ours).unwrap(), b_burn.grad(&g_burn).unwrap(), 1e-4);
            }
        }
    });
}

/// `forward_cat` and `conv_sum` (inputs read in place, zero states left out of the product)
/// against burn's convolution of the concatenation and burn's sum of two convolutions.
#[test]
fn joined_convolutions() {
    at_every_level("joined", |level, cases| {
        for _ in 0..CASES {
            let parts = cases.int(2, 3);
            let channels: Vec<usize> = (0..parts).map(|_| cases.channels(12)).collect();
            let zero: Vec<bool> = (0..parts).map(|_| cases.int(0, 3) == 0).collect();
            let kernel = cases.pick(&[1, 3, 5]);
            let [b, h, w, cout] = [cases.int(1, 4), cases.int(1, 17), cases.int(1, 17), cases.channels(32)];
            let what = format!("{level:?} channels {channels:?} zero {zero:?} kernel {kernel} [{b}, {h}, {w}] -> {cout}");
            let base = Device::flex();
            base.seed(cases.next());
            let p = kernel / 2;
            let conv = |cin| Conv2dConfig::new([cin, cout], [kernel, kernel]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).init(&base);
            let whole = conv(channels.iter().sum());
            let ad = base.clone().autodiff();
            let whole = whole.fork(&ad).train();
            let ours: Conv2d = whole.clone().into();
            let inputs: Vec<Tensor<4>> = channels
                .iter()
                .zip(&zero)
                .map(|(&c, &z)| if z { Tensor::zeros([b, c, h, w], &ad) } else { input(cases, [b, c, h, w], &ad) }.detach().require_grad())
                .collect();
            let mine = ours.forward_cat(inputs.clone());
            let reference = whole.forward(Tensor::cat(inputs.clone(), 1));
            assert_close(&format!("{what} forward_cat"), mine.clone(), reference.clone(), 1e-5);
            let weights = Tensor::<4>::random(mine.dims(), Distribution::Normal(0.0, 1.0), &ad);
            let (g_ours, g_burn) = ((mine * weights.clone()).sum().backward(), (reference * weights).sum().backward());
            for (n, t) in inputs.iter().enumerate() {
                assert_close(&format!("{what} input {n} gradient"), t.grad(&g_ours).unwrap(), t.grad(&g_burn).unwrap(), 1e-4);
            }
            assert_close(&format!("{what} weight gradient"), ours.weight.grad(&g_ours).unwrap(), whole.weight.grad(&g_burn).unwrap(), 1e-4);
            // the pair: two convolutions of their own, summed
            let (first, second) = (conv(channels[0]).fork(&ad).train(), conv(channels[1]).fork(&ad).train());
            let (a, c): (Conv2d, Conv2d) = (first.clone().into(), second.clone().into());
            let (x, y) = (inputs[0].clone(), inputs[1].clone());
            assert_close(&format!("{what} conv_sum"), vpbench_kernels::conv_sum(&a, x.clone(), &c, y.clone()), first.forward(x) + second.forward(y), 1e-5);
        }
    });
}

#[test]
fn activations_on_chunks() {
    at_every_level("activations", |level, cases| {
        for _ in 0..CASES {
            let shape = [cases.int(1, 5), cases.channels(24), cases.int(1, 19), cases.int(1, 19)];
            let base = Device::flex();
            base.seed(cases.next());
            for ad in [false, true] {
                let device = if ad { base.clone().autodiff() } else { base.clone() };
                let x = input(cases, shape, &device).mul_scalar(3.0).detach();
                let x = if ad { x.autodiff().require_grad() } else { x };
                let pairs: [(&str, fn(Tensor<4>) -> Tensor<4>, fn(Tensor<4>) -> Tensor<4>); 2] =
                    [("sigmoid", vpbench_kernels::sigmoid, sigmoid), ("tanh", vpbench_kernels::tanh, |t| t.tanh())];
                for (name, ours, theirs) in pairs {
                    let what = format!("{level:?} {name} {shape:?} autodiff {ad}");
                    assert_close(&what, ours(x.clone()), theirs(x.clone()), 1e-6);
                    if ad {
                        let w = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
                        let (g1, g2) = ((ours(x.clone()) * w.clone()).sum().backward(), (theirs(x.clone()) * w).sum().backward());
                        assert_close(&format!("{what} gradient"), x.grad(&g1).unwrap(), x.grad(&g2).unwrap(), 1e-6);
                    }
                }
            }
        }
    });
}

/// The fused LSTM memory, output and increment, reading any block order of a gate tensor.
#[test]
fn fused_lstm_gates() {
    at_every_level("lstm", |level, cases| {
        for _ in 0..CASES {
            // distinct blocks for i, f, g (and o), in any order, among 4 to 7
            let blocks = cases.int(4, 7);
            let mut order: Vec<usize> = (0..blocks).collect();
            for k in (1..blocks).rev() {
                order.swap(k, cases.int(0, k));
            }
            let [i, f, g, o] = [order[0], order[1], order[2], order[3]];
            let [b, c, h, w] = [cases.int(1, 5), cases.channels(12), cases.int(1, 23), cases.int(1, 23)];
            let what = format!("{level:?} blocks {blocks} i{i} f{f} g{g} o{o} [{b}, {c}, {h}, {w}]");
            let ad = Device::flex().autodiff();
            ad.seed(cases.next());
            let gates = (input(cases, [b, blocks * c, h, w], &ad) * 2.0).detach().require_grad();
            let memory = input(cases, [b, c, h, w], &ad).detach().require_grad();
            let chunk = |k: usize| gates.clone().narrow(1, k * c, c);
            let ours = vpbench_kernels::lstm_memory(gates.clone(), blocks, [i, f, g], memory.clone());
            let ours = vpbench_kernels::lstm_output(gates.clone(), blocks, o, ours.clone()) + ours
                + vpbench_kernels::lstm_increment(gates.clone(), blocks, [i, g]);
            let next = sigmoid(chunk(f)) * memory.clone() + sigmoid(chunk(i)) * chunk(g).tanh();
            let theirs = sigmoid(chunk(o)) * next.clone().tanh() + next + sigmoid(chunk(i)) * chunk(g).tanh();
            assert_close(&what, ours.clone(), theirs.clone(), 1e-5);
            let (plain_gates, plain_memory) = (gates.clone().inner(), memory.clone().inner());
            let plain = vpbench_kernels::lstm_memory(plain_gates.clone(), blocks, [i, f, g], plain_memory);
            let plain = vpbench_kernels::lstm_output(plain_gates.clone(), blocks, o, plain.clone()) + plain
                + vpbench_kernels::lstm_increment(plain_gates, blocks, [i, g]);
            assert_close(&format!("{what} (no autodiff)"), plain, theirs.clone().inner(), 1e-5);
            let wts = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad);
            let (g1, g2) = ((ours * wts.clone()).sum().backward(), (theirs * wts).sum().backward());
            assert_close(&format!("{what} gate gradient"), gates.grad(&g1).unwrap(), gates.grad(&g2).unwrap(), 1e-5);
            assert_close(&format!("{what} memory gradient"), memory.grad(&g1).unwrap(), memory.grad(&g2).unwrap(), 1e-5);
        }
    });
}

#[test]
fn bilinear_warp() {
    use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
    at_every_level("warp", |level, cases| {
        for _ in 0..CASES {
            let [b, c, h, w] = [cases.int(1, 5), cases.channels(12), cases.int(1, 13), cases.int(1, 13)];
            let what = format!("{level:?} warp [{b}, {c}, {h}, {w}]");
            let ad = Device::flex().autodiff();
            ad.seed(cases.next());
            let x = input(cases, [b, c, h, w], &ad).detach().require_grad();
            let sx = Tensor::<3>::random([b, h, w], Distribution::Uniform(-1.5, w as f64 + 0.5), &ad).require_grad();
            let sy = Tensor::<3>::random([b, h, w], Distribution::Uniform(-1.5, h as f64 + 0.5), &ad).require_grad();
            let ours = vpbench_kernels::warp_bilinear(x.clone(), sx.clone(), sy.clone());
            let gx = (sx.clone() + 0.5).mul_scalar(2.0 / w as f64).sub_scalar(1.0);
            let gy = (sy.clone() + 0.5).mul_scalar(2.0 / h as f64).sub_scalar(1.0);
            let options = GridSampleOptions { mode: InterpolateMode::Bilinear, padding_mode: GridSamplePaddingMode::Zeros, align_corners: false };
            let theirs = x.clone().grid_sample_2d(Tensor::stack::<4>(vec![gx, gy], 3), options);
            assert_close(&what, ours.clone(), theirs.clone(), 1e-5);
            let plain = vpbench_kernels::warp_bilinear(x.clone().inner(), sx.clone().inner(), sy.clone().inner());
            assert_close(&format!("{what} (no autodiff)"), plain, theirs.clone().inner(), 1e-5);
            let wts = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad);
            let (g1, g2) = ((ours * wts.clone()).sum().backward(), (theirs * wts).sum().backward());
            assert_close(&format!("{what} input gradient"), x.grad(&g1).unwrap(), x.grad(&g2).unwrap(), 1e-5);
            assert_close(&format!("{what} x gradient"), sx.grad(&g1).unwrap(), sx.grad(&g2).unwrap(), 1e-4);
            assert_close(&format!("{what} y gradient"), sy.grad(&g1).unwrap(), sy.grad(&g2).unwrap(), 1e-4);
        }
    });
}

/// Softmax over the last axis and attention `softmax(q k) v`: the evaluation path (plain
/// flex: attention without its map) and the training path (autodiff, gradients).
#[test]
fn softmax_and_attention() {
    at_every_level("attention", |level, cases| {
        for _ in 0..CASES {
            let [b, n, m, d, e] = [cases.int(1, 4), cases.int(1, 140), cases.int(1, 140), cases.channels(20), cases.channels(20)];
            let what = format!("{level:?} q [{b}, {n}, {d}], k [{b}, {d}, {m}], v [{b}, {m}, {e}]");
            let base = Device::flex();
            base.seed(cases.next());
            let scale = cases.pick(&[1.0, 4.0, 30.0]);
            let [q, k, v] = [[b, n, d], [b, d, m], [b, m, e]].map(|s| Tensor::<3>::random(s, Distribution::Normal(0.0, 1.0), &base));
            let q = q * (scale / (d as f64).sqrt());
            let reference = |q: Tensor<3>, k: Tensor<3>, v: Tensor<3>| softmax(q.matmul(k), 2).matmul(v);
            assert_close(&format!("{what} attention (no autodiff)"), vpbench_kernels::attention(q.clone(), k.clone(), v.clone()), reference(q.clone(), k.clone(), v.clone()), 1e-5);
            let logits = q.clone().matmul(k.clone());
            let transposed = cases.coin();
            let rows = if transposed { logits.clone().swap_dims(1, 2) } else { logits.clone() };
            assert_close(&format!("{what} softmax (no autodiff), transposed {transposed}"), vpbench_kernels::softmax_last(rows.clone()), softmax(rows, 2), 1e-6);
            let ad = base.autodiff();
            let [q, k, v] = [q, k, v].map(|t| t.to_device(&ad).autodiff().require_grad());
            let (ours, theirs) = (vpbench_kernels::attention(q.clone(), k.clone(), v.clone()), reference(q.clone(), k.clone(), v.clone()));
            assert_close(&format!("{what} attention (autodiff)"), ours.clone(), theirs.clone(), 1e-5);
            let wts = Tensor::<3>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
            let (g1, g2) = ((ours * wts.clone()).sum().backward(), (theirs * wts).sum().backward());
            for (name, t) in [("q", &q), ("k", &k), ("v", &v)] {
                assert_close(&format!("{what} gradient of {name}"), t.grad(&g1).unwrap(), t.grad(&g2).unwrap(), 1e-4);
            }
            let logits = q.clone().detach().matmul(k.clone().detach()).detach().require_grad();
            let (s1, s2) = (vpbench_kernels::softmax_last(logits.clone()), softmax(logits.clone(), 2));
            let wts = Tensor::<3>::random(s1.dims(), Distribution::Normal(0.0, 1.0), &ad);
            let (g1, g2) = ((s1 * wts.clone()).sum().backward(), (s2 * wts).sum().backward());
            assert_close(&format!("{what} softmax gradient"), logits.grad(&g1).unwrap(), logits.grad(&g2).unwrap(), 1e-5);
        }
    });
}

/// PredRNN-V2's decoupling term against the composition of burn's operations.
#[test]
fn normalized_abs_cosine_sum() {
    at_every_level("cosine", |level, cases| {
        for _ in 0..CASES {
            let [b, c, n] = [cases.int(1, 5), cases.channels(16), cases.int(1, 600)];
            let what = format!("{level:?} cosine [{b}, {c}, {n}]");
            let ad = Device::flex().autodiff();
            ad.seed(cases.next());
            let a = Tensor::<3>::random([b, c, n], Distribution::Normal(0.0, 1.0), &ad).require_grad();
            let mix = Tensor::<3>::random([b, c, 1], Distribution::Uniform(-2.0, 2.0), &ad);
            let other = (a.clone().detach() * mix + Tensor::<3>::random([b, c, n], Distribution::Normal(0.0, 1.0), &ad)).detach().require_grad();
            let normalize = |t: Tensor<3>| t.clone() / t.square().sum_dim(2).sqrt().clamp_min(1e-12);
            let composed = |x: Tensor<3>, y: Tensor<3>| {
                let (u, v) = (normalize(x), normalize(y));
                let norms = u.clone().square().sum_dim(2).sqrt() * v.clone().square().sum_dim(2).sqrt();
                ((u * v).sum_dim(2) / norms.clamp_min(1e-8)).abs().sum_dim(1).reshape([b])
            };
            let (ours, theirs) = (vpbench_kernels::normalized_abs_cosine_sum(a.clone(), other.clone()), composed(a.clone(), other.clone()));
            assert_close(&what, ours.clone(), theirs.clone(), 1e-5);
            let plain = vpbench_kernels::normalized_abs_cosine_sum(a.clone().inner(), other.clone().inner());
            assert_close(&format!("{what} (no autodiff)"), plain, theirs.clone().inner(), 1e-5);
            let wts = Tensor::<1>::random([b], Distribution::Normal(0.0, 1.0), &ad);
            let (g1, g2) = ((ours * wts.clone()).sum().backward(), (theirs * wts).sum().backward());
            assert_close(&format!("{what} gradient a"), a.grad(&g1).unwrap(), a.grad(&g2).unwrap(), 1e-4);
            assert_close(&format!("{what} gradient b"), other.grad(&g1).unwrap(), other.grad(&g2).unwrap(), 1e-4);
        }
    });
}

/// The pyramid's 2x2 max pooling and bilinear doubling: the evaluation path (plain flex,
/// the one-pass upsampling) and the training path (autodiff, gradients), odd sizes and
/// one-pixel axes included.
#[test]
fn pyramid_resampling() {
    use burn::tensor::module::{interpolate, max_pool2d};
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};
    at_every_level("resampling", |level, cases| {
        for _ in 0..CASES {
            let [b, c, h, w] = [cases.int(1, 5), cases.channels(20), cases.int(1, 19), cases.int(1, 19)];
            let what = format!("{level:?} [{b}, {c}, {h}, {w}]");
            let base = Device::flex();
            base.seed(cases.next());
            let options = InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false).with_output_size([2 * h, 2 * w]);
            let x = input(cases, [b, c, h, w], &base);
            assert_close(&format!("{what} upsampling (no autodiff)"), vpbench_kernels::upsample_bilinear_2x(x.clone()), interpolate(x.clone(), options.clone()), 1e-6);
            let ad = base.autodiff();
            let x = x.to_device(&ad).autodiff().require_grad();
            let (ours, theirs) = (vpbench_kernels::upsample_bilinear_2x(x.clone()), interpolate(x.clone(), options));
            assert_close(&format!("{what} upsampling (autodiff)"), ours.clone(), theirs.clone(), 1e-6);
            let wts = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
            let (g1, g2) = ((ours * wts.clone()).sum().backward(), (theirs * wts).sum().backward());
            assert_close(&format!("{what} upsampling gradient"), x.grad(&g1).unwrap(), x.grad(&g2).unwrap(), 1e-5);
            if h >= 2 && w >= 2 {
                let (ours, theirs) = (vpbench_kernels::max_pool_2x(x.clone()), max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])));
                assert_close(&format!("{what} pooling"), ours.clone(), theirs.clone(), 0.0);
                let wts = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
                let (g1, g2) = ((ours * wts.clone()).sum().backward(), (theirs * wts).sum().backward());
                assert_close(&format!("{what} pooling gradient"), x.grad(&g1).unwrap(), x.grad(&g2).unwrap(), 0.0);
                let plain = x.clone().inner();
                assert_close(&format!("{what} pooling (no autodiff)"), vpbench_kernels::max_pool_2x(plain.clone()), max_pool2d(plain, MaxPoolOptions::new([2, 2])), 0.0);
            }
        }
    });
}

/// The levels the cases above ran at, printed so that a log shows which paths were covered
/// (a machine without AVX2 covers the scalar path only, and says so).
#[test]
fn levels_covered() {
    let levels = runnable_levels();
    println!("kernels checked at: {}", levels.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "));
    for l in SimdLevel::ALL.iter().filter(|l| !levels.contains(l)) {
        println!("SKIPPED {}: this CPU lacks it", l.name());
    }
    assert!(levels.contains(&SimdLevel::Scalar));
}
