//! The CPU convolution gives burn's conv2d values and gradients on flex.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};
use vpbench_kernels::Conv2d;

struct Case {
    batch: usize,
    cin: usize,
    cout: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    padding: [usize; 2],
    bias: bool,
}

fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar()
}

fn check(case: &Case) {
    let base = Device::flex();
    base.seed(7);
    let [ph, pw] = case.padding;
    let burn_conv = Conv2dConfig::new([case.cin, case.cout], case.kernel)
        .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
        .with_bias(case.bias)
        .init(&base);
    let ours: Conv2d = burn_conv.clone().into();
    let x = Tensor::<4>::random([case.batch, case.cin, case.size[0], case.size[1]], Distribution::Normal(0.0, 1.0), &base);

    let forward = max_abs_diff(ours.forward(x.clone()), burn_conv.forward(x.clone()));
    assert!(forward < 1e-4, "forward differs by {forward}");

    let ad = base.autodiff();
    let (burn_conv, ours) = (burn_conv.fork(&ad).train(), ours.fork(&ad).train());
    let x = x.to_device(&ad).autodiff().require_grad();
    // A loss that weights every output differently, so every gradient entry is checked.
    let weights = Tensor::<4>::random(ours.forward(x.clone()).dims(), Distribution::Normal(0.0, 1.0), &ad);
    let g_ours = (ours.forward(x.clone()) * weights.clone()).sum().backward();
    let g_burn = (burn_conv.forward(x.clone()) * weights).sum().backward();
    let dx = max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap());
    let dw = max_abs_diff(ours.weight.grad(&g_ours).unwrap(), burn_conv.weight.grad(&g_burn).unwrap());
    assert!(dx < 1e-3 && dw < 1e-3, "gradients differ: x {dx}, weight {dw}");
    if case.bias {
        let db = max_abs_diff(
            ours.bias.as_ref().unwrap().grad(&g_ours).unwrap(),
            burn_conv.bias.as_ref().unwrap().grad(&g_burn).unwrap(),
        );
        assert!(db < 1e-3, "bias gradient differs by {db}");
    }
}

#[test]
fn gate_convolutions_match_burn() {
    for case in [
        Case { batch: 4, cin: 8, cout: 32, size: [16, 16], kernel: [3, 3], padding: [1, 1], bias: true },
        Case { batch: 3, cin: 5, cout: 7, size: [9, 13], kernel: [5, 5], padding: [2, 2], bias: true },
    ] {
        check(&case);
    }
}

#[test]
fn odd_shapes_match_burn() {
    for case in [
        // One image (the product itself goes parallel), no bias, asymmetric kernel.
        Case { batch: 1, cin: 3, cout: 4, size: [7, 6], kernel: [3, 1], padding: [1, 0], bias: false },
        // Pointwise: the image is its own patch matrix.
        Case { batch: 2, cin: 6, cout: 3, size: [5, 5], kernel: [1, 1], padding: [0, 0], bias: true },
        // Valid (no padding) and padding wider than the kernel's half.
        Case { batch: 2, cin: 2, cout: 3, size: [6, 8], kernel: [3, 3], padding: [0, 0], bias: true },
        Case { batch: 2, cin: 2, cout: 3, size: [4, 4], kernel: [2, 2], padding: [2, 1], bias: true },
        // Patch matrices over the tile budget: 22 rows per tile, a short last tile.
        Case { batch: 2, cin: 32, cout: 8, size: [40, 24], kernel: [5, 5], padding: [2, 2], bias: true },
        Case { batch: 3, cin: 600, cout: 5, size: [7, 30], kernel: [1, 1], padding: [0, 0], bias: false },
    ] {
        check(&case);
    }
}

#[test]
fn activations_match_burn_on_strided_inputs() {
    let base = Device::flex();
    base.seed(3);
    let ad = base.autodiff();
    let x = Tensor::<4>::random([3, 8, 5, 7], Distribution::Normal(0.0, 4.0), &ad).autodiff().require_grad();
    // A channel chunk is not contiguous: the kernels must gather it block by block.
    let chunk = || x.clone().chunk(2, 1).remove(1);
    let weights = Tensor::<4>::random([3, 4, 5, 7], Distribution::Normal(0.0, 1.0), &ad);
    type Pair = (fn(Tensor<4>) -> Tensor<4>, fn(Tensor<4>) -> Tensor<4>);
    let pairs: [(&str, Pair); 2] = [
        ("sigmoid", (vpbench_kernels::sigmoid, burn::tensor::activation::sigmoid)),
        ("tanh", (vpbench_kernels::tanh, |t: Tensor<4>| t.tanh())),
    ];
    for (name, (ours, theirs)) in pairs {
        let value = max_abs_diff(ours(chunk()), theirs(chunk()));
        let g_ours = (ours(chunk()) * weights.clone()).sum().backward();
        let g_burn = (theirs(chunk()) * weights.clone()).sum().backward();
        let grad = max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap());
        assert!(value < 5e-7 && grad < 1e-6, "{name}: value {value}, gradient {grad}");
    }
}

/// The memory update reading its gates in place, for every block order a cell uses (and a
/// swapped one), against burn's chunk and arithmetic: value and both gradients.
#[test]
fn fused_lstm_memory_matches_burn() {
    let base = Device::flex();
    base.seed(5);
    let ad = base.autodiff();
    // batch 3 of 40x40 planes is large enough to run on several threads
    for (blocks, picked, [b, c, h, w]) in
        [(3, [0, 1, 2], [2, 4, 5, 6]), (4, [0, 1, 2], [3, 5, 40, 40]), (4, [1, 0, 2], [2, 4, 5, 6]), (7, [6, 2, 4], [1, 2, 3, 3])]
    {
        let gates = Tensor::<4>::random([b, blocks * c, h, w], Distribution::Normal(0.0, 2.0), &ad).autodiff().require_grad();
        let memory = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad).autodiff().require_grad();
        let weights = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad);
        let ours = vpbench_kernels::lstm_memory(gates.clone(), blocks, picked, memory.clone());
        let chunks = gates.clone().chunk(blocks, 1);
        let [i, f, g] = picked.map(|k| chunks[k].clone());
        use burn::tensor::activation::sigmoid;
        let theirs = sigmoid(f) * memory.clone() + sigmoid(i) * g.tanh();
        let value = max_abs_diff(ours.clone(), theirs.clone());
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (theirs * weights).sum().backward();
        let d_gates = max_abs_diff(gates.grad(&g_ours).unwrap(), gates.grad(&g_burn).unwrap());
        let d_c = max_abs_diff(memory.grad(&g_ours).unwrap(), memory.grad(&g_burn).unwrap());
        let case = format!("{blocks} blocks {picked:?}");
        assert!(value < 1e-6 && d_gates < 1e-6 && d_c < 1e-6, "{case}: value {value}, gates {d_gates}, memory {d_c}");
    }
}

/// The memory update and the output reading one gate tensor, as ConvLSTM does: the two
/// gate gradients (one per operation) add up to burn's.
#[test]
fn fused_lstm_cell_matches_burn() {
    let base = Device::flex();
    base.seed(8);
    let ad = base.autodiff();
    let gates = Tensor::<4>::random([2, 12, 7, 5], Distribution::Normal(0.0, 2.0), &ad).autodiff().require_grad();
    let c = Tensor::<4>::random([2, 3, 7, 5], Distribution::Normal(0.0, 1.0), &ad).autodiff().require_grad();
    let weights = Tensor::<4>::random([2, 3, 7, 5], Distribution::Normal(0.0, 1.0), &ad);
    let next = vpbench_kernels::lstm_memory(gates.clone(), 4, [0, 1, 2], c.clone());
    let ours = vpbench_kernels::lstm_output(gates.clone(), 4, 3, next.clone()) + next;
    use burn::tensor::activation::sigmoid;
    let [i, f, g, o]: [Tensor<4>; 4] = gates.clone().chunk(4, 1).try_into().unwrap();
    let next = sigmoid(f) * c.clone() + sigmoid(i) * g.tanh();
    let theirs = sigmoid(o) * next.clone().tanh() + next;
    let value = max_abs_diff(ours.clone(), theirs.clone());
    let g_ours = (ours * weights.clone()).sum().backward();
    let g_burn = (theirs * weights).sum().backward();
    let d_gates = max_abs_diff(gates.grad(&g_ours).unwrap(), gates.grad(&g_burn).unwrap());
    let d_c = max_abs_diff(c.grad(&g_ours).unwrap(), c.grad(&g_burn).unwrap());
    assert!(value < 1e-6 && d_gates < 1e-6 && d_c < 1e-6, "value {value}, gates {d_gates}, memory {d_c}");
}

#[test]
fn warp_matches_grid_sample() {
    use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
    let base = Device::flex();
    base.seed(11);
    let ad = base.autodiff();
    let (b, c, h, w) = (2, 3, 6, 7);
    let input = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad).autodiff().require_grad();
    // Source positions in pixels, some outside the image (zeros there).
    let sx = Tensor::<3>::random([b, h, w], Distribution::Uniform(-1.5, w as f64 + 0.5), &ad).autodiff().require_grad();
    let sy = Tensor::<3>::random([b, h, w], Distribution::Uniform(-1.5, h as f64 + 0.5), &ad).autodiff().require_grad();
    let ours = vpbench_kernels::warp_bilinear(input.clone(), sx.clone(), sy.clone());
    // align_corners=False: pixel x = ((gx + 1) W - 1) / 2.
    let gx = (sx.clone() + 0.5).mul_scalar(2.0 / w as f64).sub_scalar(1.0);
    let gy = (sy.clone() + 0.5).mul_scalar(2.0 / h as f64).sub_scalar(1.0);
    let options = GridSampleOptions { mode: InterpolateMode::Bilinear, padding_mode: GridSamplePaddingMode::Zeros, align_corners: false };
    let theirs = input.clone().grid_sample_2d(Tensor::stack::<4>(vec![gx, gy], 3), options);
    let weights = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad);
    let value = max_abs_diff(ours.clone(), theirs.clone());
    let g_ours = (ours * weights.clone()).sum().backward();
    let g_burn = (theirs * weights).sum().backward();
    let d_input = max_abs_diff(input.grad(&g_ours).unwrap(), input.grad(&g_burn).unwrap());
    let d_sx = max_abs_diff(sx.grad(&g_ours).unwrap(), sx.grad(&g_burn).unwrap());
    let d_sy = max_abs_diff(sy.grad(&g_ours).unwrap(), sy.grad(&g_burn).unwrap());
    assert!(value < 1e-5 && d_input < 1e-5 && d_sx < 1e-4 && d_sy < 1e-4, "value {value}, input {d_input}, sx {d_sx}, sy {d_sy}");
}

#[test]
fn fused_lstm_output_matches_burn() {
    let base = Device::flex();
    base.seed(6);
    let ad = base.autodiff();
    for (blocks, o, [b, c, h, w]) in [(2, 1, [2, 4, 5, 6]), (1, 0, [3, 5, 40, 40]), (4, 3, [1, 2, 9, 4])] {
        let gates = Tensor::<4>::random([b, blocks * c, h, w], Distribution::Normal(0.0, 2.0), &ad).autodiff().require_grad();
        let memory = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 2.0), &ad).autodiff().require_grad();
        let weights = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad);
        let ours = vpbench_kernels::lstm_output(gates.clone(), blocks, o, memory.clone());
        let gate = gates.clone().chunk(blocks, 1).remove(o);
        let theirs = burn::tensor::activation::sigmoid(gate) * memory.clone().tanh();
        let value = max_abs_diff(ours.clone(), theirs.clone());
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (theirs * weights).sum().backward();
        let d_gates = max_abs_diff(gates.grad(&g_ours).unwrap(), gates.grad(&g_burn).unwrap());
        let d_c = max_abs_diff(memory.grad(&g_ours).unwrap(), memory.grad(&g_burn).unwrap());
        assert!(value < 1e-6 && d_gates < 1e-6 && d_c < 1e-6, "{blocks} blocks, o {o}: value {value}, gate {d_gates}, memory {d_c}");
    }
}

/// `conv_sum` (one joined convolution on flex) against burn's two convolutions and their
/// sum: values and all six gradients, at channel counts that differ between the pair.
#[test]
fn convolution_pair_matches_two_burn_convolutions() {
    use vpbench_kernels::conv_sum;
    for (batch, [c1, c2], cout, [h, w], k) in [(4, [8, 8], 32, [16, 16], 3), (3, [1, 6], 12, [9, 40], 5), (2, [4, 3], 8, [40, 40], 3)] {
        let base = Device::flex();
        base.seed(11);
        let pad = (k - 1) / 2;
        let make = |cin| {
            Conv2dConfig::new([cin, cout], [k, k]).with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad)).init(&base)
        };
        let (burn_a, burn_b) = (make(c1), make(c2));
        let ad = base.autodiff();
        let (burn_a, burn_b) = (burn_a.fork(&ad).train(), burn_b.fork(&ad).train());
        let (ours_a, ours_b): (Conv2d, Conv2d) = (burn_a.clone().into(), burn_b.clone().into());
        let x = Tensor::<4>::random([batch, c1, h, w], Distribution::Normal(0.0, 1.0), &ad).require_grad();
        let y = Tensor::<4>::random([batch, c2, h, w], Distribution::Normal(0.0, 1.0), &ad).require_grad();
        let ours = conv_sum(&ours_a, x.clone(), &ours_b, y.clone());
        let reference = burn_a.forward(x.clone()) + burn_b.forward(y.clone());
        let forward = max_abs_diff(ours.clone(), reference.clone());
        assert!(forward < 1e-4, "pair forward differs by {forward}");
        let weights = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (reference * weights).sum().backward();
        let diffs = [
            max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap()),
            max_abs_diff(y.grad(&g_ours).unwrap(), y.grad(&g_burn).unwrap()),
            max_abs_diff(ours_a.weight.grad(&g_ours).unwrap(), burn_a.weight.grad(&g_burn).unwrap()),
            max_abs_diff(ours_b.weight.grad(&g_ours).unwrap(), burn_b.weight.grad(&g_burn).unwrap()),
            max_abs_diff(ours_a.bias.as_ref().unwrap().grad(&g_ours).unwrap(), burn_a.bias.as_ref().unwrap().grad(&g_burn).unwrap()),
            max_abs_diff(ours_b.bias.as_ref().unwrap().grad(&g_ours).unwrap(), burn_b.bias.as_ref().unwrap().grad(&g_burn).unwrap()),
        ];
        assert!(diffs.iter().all(|&d| d < 1e-3), "pair gradients differ (x, y, w1, w2, b1, b2): {diffs:?}");
    }
}

/// `Conv2d::forward_cat` (the inputs read in place) against burn's conv2d of the
/// concatenation: values and every gradient, for two and three inputs, 3x3 and pointwise
/// kernels, and inputs that are all zeros (left out of the products: the state at t = 0),
/// with and without a gradient of their own.
#[test]
fn joined_inputs_match_burn_on_the_concatenation() {
    struct Joined {
        channels: Vec<usize>,
        zero: Vec<bool>,
        graded: Vec<bool>,
        kernel: usize,
    }
    let cases = [
        Joined { channels: vec![4, 6], zero: vec![false, false], graded: vec![true, true], kernel: 3 },
        Joined { channels: vec![4, 6], zero: vec![false, true], graded: vec![true, false], kernel: 3 },
        Joined { channels: vec![4, 6], zero: vec![true, false], graded: vec![true, true], kernel: 3 },
        Joined { channels: vec![3, 2, 5], zero: vec![false, true, false], graded: vec![true, false, true], kernel: 5 },
        Joined { channels: vec![3, 2, 5], zero: vec![true, true, true], graded: vec![false, true, false], kernel: 3 },
        Joined { channels: vec![5, 3], zero: vec![false, false], graded: vec![false, true], kernel: 1 },
        Joined { channels: vec![5, 3, 2], zero: vec![false, true, false], graded: vec![true, true, true], kernel: 1 },
    ];
    for case in cases {
        let base = Device::flex();
        base.seed(13);
        let (cin, cout, pad) = (case.channels.iter().sum::<usize>(), 12, (case.kernel - 1) / 2);
        let burn_conv = Conv2dConfig::new([cin, cout], [case.kernel, case.kernel])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .init(&base);
        let ad = base.autodiff();
        let burn_conv = burn_conv.fork(&ad).train();
        let ours: Conv2d = burn_conv.clone().into();
        let inputs: Vec<Tensor<4>> = case
            .channels
            .iter()
            .zip(&case.zero)
            .zip(&case.graded)
            .map(|((&c, &zero), &graded)| {
                let t = match zero {
                    true => Tensor::<4>::zeros([3, c, 11, 9], &ad),
                    false => Tensor::<4>::random([3, c, 11, 9], Distribution::Normal(0.0, 1.0), &ad),
                };
                if graded { t.require_grad() } else { t }
            })
            .collect();
        let label = format!("channels {:?}, zero {:?}, kernel {}", case.channels, case.zero, case.kernel);
        let joined = ours.forward_cat(inputs.clone());
        let reference = burn_conv.forward(Tensor::cat(inputs.clone(), 1));
        let forward = max_abs_diff(joined.clone(), reference.clone());
        assert!(forward < 1e-4, "{label}: forward differs by {forward}");
        let weights = Tensor::<4>::random(joined.dims(), Distribution::Normal(0.0, 1.0), &ad);
        let g_ours = (joined * weights.clone()).sum().backward();
        let g_burn = (reference * weights).sum().backward();
        for (n, input) in inputs.iter().enumerate().filter(|&(n, _)| case.graded[n]) {
            let d = max_abs_diff(input.grad(&g_ours).unwrap(), input.grad(&g_burn).unwrap());
            assert!(d < 1e-3, "{label}: gradient of input {n} differs by {d}");
        }
        let dw = max_abs_diff(ours.weight.grad(&g_ours).unwrap(), burn_conv.weight.grad(&g_burn).unwrap());
        let db = max_abs_diff(
            ours.bias.as_ref().unwrap().grad(&g_ours).unwrap(),
            burn_conv.bias.as_ref().unwrap().grad(&g_burn).unwrap(),
        );
        assert!(dw < 1e-3 && db < 1e-3, "{label}: weight gradient differs by {dw}, bias by {db}");
    }
}

/// `conv_sum` when the second input is the zero state (t = 0): the same values and
/// gradients as burn's two convolutions, the zero input's weight gradient exactly zero.
#[test]
fn convolution_pair_with_a_zero_state_matches_burn() {
    use vpbench_kernels::conv_sum;
    let base = Device::flex();
    base.seed(17);
    let make = |cin| Conv2dConfig::new([cin, 16], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&base);
    let (burn_a, burn_b) = (make(4), make(4));
    let ad = base.autodiff();
    let (burn_a, burn_b) = (burn_a.fork(&ad).train(), burn_b.fork(&ad).train());
    let (ours_a, ours_b): (Conv2d, Conv2d) = (burn_a.clone().into(), burn_b.clone().into());
    let x = Tensor::<4>::random([2, 4, 10, 10], Distribution::Normal(0.0, 1.0), &ad).require_grad();
    let h = Tensor::<4>::zeros([2, 4, 10, 10], &ad);
    let ours = conv_sum(&ours_a, x.clone(), &ours_b, h.clone());
    let reference = burn_a.forward(x.clone()) + burn_b.forward(h);
    assert!(max_abs_diff(ours.clone(), reference.clone()) < 1e-4, "pair with a zero state: forward differs");
    let weights = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
    let g_ours = (ours * weights.clone()).sum().backward();
    let g_burn = (reference * weights).sum().backward();
    assert!(max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap()) < 1e-3, "dx differs");
    let dw_b = ours_b.weight.grad(&g_ours).unwrap();
    assert_eq!(dw_b.clone().abs().max().into_scalar::<f32>(), 0.0, "the zero state's weight gradient is not zero");
    assert!(max_abs_diff(dw_b, burn_b.weight.grad(&g_burn).unwrap()) < 1e-6, "w2 gradient differs");
    let db = max_abs_diff(ours_b.bias.as_ref().unwrap().grad(&g_ours).unwrap(), burn_b.bias.as_ref().unwrap().grad(&g_burn).unwrap());
    assert!(db < 1e-3, "b2 gradient differs by {db}");
}

/// The fused softmax against burn's: values and input gradient, on a contiguous and a
/// transposed (strided) input, rows of a length that is not a multiple of the lanes, and
/// large logits (the exponent is taken after subtracting the row's maximum).
#[test]
fn fused_softmax_matches_burn() {
    use vpbench_kernels::softmax_last;
    let ad = Device::flex().autodiff();
    ad.seed(19);
    for (shape, transposed, scale) in [([3, 37, 53], false, 1.0), ([2, 40, 24], true, 1.0), ([4, 9, 2048], false, 30.0)] {
        let x = (Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &ad) * scale).require_grad();
        // each side's own view: two backward passes cannot share a node
        let input = || if transposed { x.clone().swap_dims(1, 2) } else { x.clone() };
        let ours = softmax_last(input());
        let reference = burn::tensor::activation::softmax(input(), 2);
        let forward = max_abs_diff(ours.clone(), reference.clone());
        assert!(forward < 1e-6, "{shape:?}: softmax differs by {forward}");
        let weights = Tensor::<3>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (reference * weights).sum().backward();
        let dx = max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap());
        assert!(dx < 1e-5, "{shape:?}: softmax gradient differs by {dx}");
    }
}

/// `attention` (query blocks without the attention map on flex, the composed operations
/// under autodiff) against burn's `softmax(q k) v`: values both ways, gradients under
/// autodiff, a query count that is not a multiple of the block.
#[test]
fn attention_matches_burn() {
    use vpbench_kernels::attention;
    let reference = |q: Tensor<3>, k: Tensor<3>, v: Tensor<3>| burn::tensor::activation::softmax(q.matmul(k), 2).matmul(v);
    let base = Device::flex();
    base.seed(23);
    let [q, k, v] = [[3, 150, 16], [3, 16, 150], [3, 150, 8]].map(|s| Tensor::<3>::random(s, Distribution::Normal(0.0, 2.0), &base));
    let forward = max_abs_diff(attention(q.clone(), k.clone(), v.clone()), reference(q.clone(), k.clone(), v.clone()));
    assert!(forward < 1e-5, "attention without autodiff differs by {forward}");
    let ad = base.autodiff();
    let [q, k, v] = [q, k, v].map(|t| t.to_device(&ad).autodiff().require_grad());
    let ours = attention(q.clone(), k.clone(), v.clone());
    let theirs = reference(q.clone(), k.clone(), v.clone());
    assert!(max_abs_diff(ours.clone(), theirs.clone()) < 1e-5, "attention under autodiff differs");
    let weights = Tensor::<3>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &ad);
    let (g_ours, g_burn) = ((ours * weights.clone()).sum().backward(), (theirs * weights).sum().backward());
    for (name, t) in [("q", &q), ("k", &k), ("v", &v)] {
        let d = max_abs_diff(t.grad(&g_ours).unwrap(), t.grad(&g_burn).unwrap());
        assert!(d < 1e-4, "attention gradient of {name} differs by {d}");
    }
}

/// The increment `sigmoid(i) tanh(g)` reading its gates in place (PredRNN-V2's order and a
/// swapped one, one size split across threads): value and gate gradient.
#[test]
fn fused_lstm_increment_matches_burn() {
    let base = Device::flex();
    base.seed(13);
    let ad = base.autodiff();
    for (blocks, picked, [b, c, h, w]) in [(4, [0, 2], [2, 3, 5, 6]), (3, [2, 0], [3, 5, 40, 40])] {
        let gates = Tensor::<4>::random([b, blocks * c, h, w], Distribution::Normal(0.0, 2.0), &ad).autodiff().require_grad();
        let weights = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &ad);
        let ours = vpbench_kernels::lstm_increment(gates.clone(), blocks, picked);
        let chunks = gates.clone().chunk(blocks, 1);
        let theirs = burn::tensor::activation::sigmoid(chunks[picked[0]].clone()) * chunks[picked[1]].clone().tanh();
        let value = max_abs_diff(ours.clone(), theirs.clone());
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (theirs * weights).sum().backward();
        let d_gates = max_abs_diff(gates.grad(&g_ours).unwrap(), gates.grad(&g_burn).unwrap());
        assert!(value < 1e-6 && d_gates < 1e-6, "{blocks} blocks {picked:?}: value {value}, gates {d_gates}");
    }
}

/// PredRNN-V2's decoupling term, `F.normalize` then `cosine_similarity`, `abs` and a sum over
/// channels, as burn's operations compute it (the authors' order).
fn abs_cosine_sum_composed(a: Tensor<3>, b: Tensor<3>) -> Tensor<1> {
    let batch = a.dims()[0];
    let normalize = |t: Tensor<3>| {
        let norm = t.clone().square().sum_dim(2).sqrt().clamp_min(1e-12);
        t / norm
    };
    let (u, v) = (normalize(a), normalize(b));
    let nu = u.clone().square().sum_dim(2).sqrt();
    let nv = v.clone().square().sum_dim(2).sqrt();
    let cos = (u * v).sum_dim(2) / (nu * nv).clamp_min(1e-8);
    cos.abs().sum_dim(1).reshape([batch])
}

/// The fused decoupling term against the composition: value and both gradients, at a size
/// split across threads and one that is not, with rows of very different scales.
#[test]
fn fused_abs_cosine_sum_matches_burn() {
    let base = Device::flex();
    base.seed(17);
    let ad = base.autodiff();
    for [b, c, n] in [[2, 3, 37], [4, 16, 1024]] {
        let scale = Tensor::<3>::random([b, c, 1], Distribution::Uniform(-3.0, 3.0), &ad).exp();
        let a = (Tensor::<3>::random([b, c, n], Distribution::Normal(0.0, 1.0), &ad) * scale).detach().require_grad();
        // b partly aligned with a, so the cosines spread over both signs and several sizes.
        let noise = Tensor::<3>::random([b, c, n], Distribution::Normal(0.0, 1.0), &ad);
        let mix = Tensor::<3>::random([b, c, 1], Distribution::Uniform(-2.0, 2.0), &ad);
        let b_ = (a.clone().detach() * mix + noise).detach().require_grad();
        let weights = Tensor::<1>::random([b], Distribution::Normal(0.0, 1.0), &ad);
        let ours = vpbench_kernels::normalized_abs_cosine_sum(a.clone(), b_.clone());
        let theirs = abs_cosine_sum_composed(a.clone(), b_.clone());
        let value = max_abs_diff(ours.clone(), theirs.clone());
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (theirs * weights).sum().backward();
        // Gradients scale as 1/|a|: compare relative to the largest.
        let relative = |x: Tensor<3>, y: Tensor<3>| {
            let top: f32 = y.clone().abs().max().into_scalar();
            max_abs_diff(x, y) / top
        };
        let da = relative(a.grad(&g_ours).unwrap(), a.grad(&g_burn).unwrap());
        let db = relative(b_.grad(&g_ours).unwrap(), b_.grad(&g_burn).unwrap());
        assert!(value < 1e-5 && da < 1e-5 && db < 1e-5, "[{b}, {c}, {n}]: value {value}, d a {da}, d b {db} (relative)");
    }
}

/// A row of zeros (a memory that did not move): its cosine is 0 and its gradient is 0, not the
/// NaN of `sqrt`'s derivative at 0 that the composition gives.
#[test]
fn fused_abs_cosine_sum_of_a_zero_row_is_zero() {
    let base = Device::flex();
    base.seed(19);
    let ad = base.autodiff();
    let a = Tensor::<3>::random([1, 2, 9], Distribution::Normal(0.0, 1.0), &ad)
        .slice_assign([0..1, 0..1, 0..9], Tensor::zeros([1, 1, 9], &ad))
        .detach()
        .require_grad();
    let b = Tensor::<3>::random([1, 2, 9], Distribution::Normal(0.0, 1.0), &ad).autodiff().require_grad();
    let ours = vpbench_kernels::normalized_abs_cosine_sum(a.clone(), b.clone());
    let other_row = abs_cosine_sum_composed(a.clone().slice([0..1, 1..2, 0..9]), b.clone().slice([0..1, 1..2, 0..9]));
    assert!(max_abs_diff(ours.clone(), other_row) < 1e-6, "the zero row added to the sum");
    let grads = ours.sum().backward();
    let [da, db] = [&a, &b].map(|t| t.grad(&grads).unwrap().slice([0..1, 0..1, 0..9]));
    let worst = max_abs_diff(da.clone(), da.zeros_like()).max(max_abs_diff(db.clone(), db.zeros_like()));
    assert_eq!(worst, 0.0, "the zero row has a gradient");
}

/// The 2x2 max pooling against burn's `max_pool2d`: value and gradient, at even and odd
/// sizes (the trailing row and column dropped) and a size split across threads.
#[test]
fn max_pool_matches_burn() {
    use burn::tensor::module::max_pool2d;
    use burn::tensor::ops::MaxPoolOptions;
    let base = Device::flex();
    base.seed(23);
    let ad = base.autodiff();
    for shape in [[2, 3, 6, 8], [1, 2, 7, 5], [4, 32, 64, 64]] {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &ad).autodiff().require_grad();
        let ours = vpbench_kernels::max_pool_2x(x.clone());
        let theirs = max_pool2d(x.clone(), MaxPoolOptions::new([2, 2]));
        assert_eq!(ours.dims(), theirs.dims(), "{shape:?}: shape");
        let weights = Tensor::<4>::random(theirs.dims(), Distribution::Normal(0.0, 1.0), &ad);
        let value = max_abs_diff(ours.clone(), theirs.clone());
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (theirs * weights).sum().backward();
        let dx = max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap());
        assert!(value == 0.0 && dx == 0.0, "{shape:?}: value {value}, gradient {dx}");
    }
}

/// The half-pixel bilinear doubling against burn's bilinear `interpolate` (align_corners
/// false, PyTorch's default), on flex without autodiff (the fused pass) and with it (the
/// separable composition, differentiated), including one-pixel and odd sizes.
#[test]
fn bilinear_upsampling_matches_burn() {
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    let base = Device::flex();
    base.seed(29);
    let ad = base.clone().autodiff();
    for shape in [[2, 3, 5, 7], [1, 2, 1, 1], [1, 1, 1, 4], [4, 32, 32, 32]] {
        let [_, _, h, w] = shape;
        let options = || InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false).with_output_size([2 * h, 2 * w]);
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &base);
        let value = max_abs_diff(vpbench_kernels::upsample_bilinear_2x(x.clone()), interpolate(x.clone(), options()));
        let x = x.to_device(&ad).autodiff().require_grad();
        let ours = vpbench_kernels::upsample_bilinear_2x(x.clone());
        let theirs = interpolate(x.clone(), options());
        let weights = Tensor::<4>::random(theirs.dims(), Distribution::Normal(0.0, 1.0), &ad);
        let tracked = max_abs_diff(ours.clone(), theirs.clone());
        let g_ours = (ours * weights.clone()).sum().backward();
        let g_burn = (theirs * weights).sum().backward();
        let dx = max_abs_diff(x.grad(&g_ours).unwrap(), x.grad(&g_burn).unwrap());
        assert!(value < 1e-5 && tracked < 1e-5 && dx < 1e-4, "{shape:?}: value {value} (autodiff {tracked}), gradient {dx}");
    }
}

/// The separable composition burn's GPU backends differentiate (and the fallback off flex).
fn upsample_axis_composed(x: Tensor<4>, axis: usize) -> Tensor<4> {
    let mut dims = x.dims();
    let n = dims[axis];
    let (previous, next) = if n == 1 {
        (x.clone(), x.clone())
    } else {
        let first = x.clone().narrow(axis, 0, 1);
        let last = x.clone().narrow(axis, n - 1, 1);
        (
            Tensor::cat(vec![first, x.clone().narrow(axis, 0, n - 1)], axis),
            Tensor::cat(vec![x.clone().narrow(axis, 1, n - 1), last], axis),
        )
    };
    let centre = x.mul_scalar(0.75);
    let even = centre.clone() + previous.mul_scalar(0.25);
    let odd = centre + next.mul_scalar(0.25);
    dims[axis] *= 2;
    Tensor::stack::<5>(vec![even, odd], axis + 1).reshape(dims)
}

/// The fused upsampling (flex, evaluation) gives the separable composition's values to the
/// bit, so that evaluating a model trained with the composition changes nothing, at sizes
/// with one-pixel axes, odd sizes and one split across threads.
#[test]
fn bilinear_upsampling_is_the_composition_to_the_bit() {
    let base = Device::flex();
    base.seed(31);
    for shape in [[8, 8, 8, 9], [8, 8, 1, 9], [8, 8, 5, 1], [2, 3, 1, 1], [3, 5, 2, 2], [4, 32, 32, 32]] {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &base);
        let ours = vpbench_kernels::upsample_bilinear_2x(x.clone());
        let theirs = upsample_axis_composed(upsample_axis_composed(x, 3), 2);
        let value = max_abs_diff(ours, theirs);
        assert!(value == 0.0, "{shape:?}: value {value:e}");
    }
}
