//! Where a ConvLSTM cell step spends its time on flex (forward only), op by op.
use std::time::Instant;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};
use burn::module::Module;
use vpbench_kernels::{Conv2d, conv_sum, sigmoid, tanh};

fn millis<F: FnMut()>(label: &str, reps: usize, mut f: F) {
    f();
    let t = Instant::now();
    (0..reps).for_each(|_| f());
    println!("{label:28} {:8.3} ms", t.elapsed().as_secs_f64() * 1e3 / reps as f64);
}

fn main() {
    vpbench_kernels::allocator::keep_freed_memory();
    let a: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (b, c, s) = (a[0], a[1], a[2]);
    let d = Device::flex();
    let conv = || -> Conv2d { Conv2dConfig::new([c, 4 * c], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&d).into() };
    let (x2h, h2h) = (conv(), conv());
    let x = Tensor::<4>::random([b, c, s, s], Distribution::Default, &d);
    let h = x.clone();
    let cs = x.clone();
    let sync = |t: Tensor<4>| { let _ = t.into_data(); };
    millis("conv", 50, || sync(x2h.forward(x.clone())));
    let g1 = x2h.forward(x.clone());
    let g2 = h2h.forward(h.clone());
    millis("add gates", 50, || sync(g1.clone() + g2.clone()));
    let gates = g1.clone() + g2.clone();
    millis("chunk + sigmoid", 50, || sync(sigmoid(gates.clone().chunk(4, 1).remove(1))));
    millis("sigmoid contiguous", 50, || sync(sigmoid(cs.clone())));
    millis("tanh contiguous", 50, || sync(tanh(cs.clone())));
    millis("burn tanh contiguous", 50, || sync(cs.clone().tanh()));
    millis("mul", 50, || sync(cs.clone() * h.clone()));
    millis("mul+add", 50, || sync(cs.clone() * h.clone() + x.clone()));
    millis("chunk mul (strided)", 50, || sync(gates.clone().chunk(4, 1).remove(1) * cs.clone()));
    let n = b * c * s * s;
    let src: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 0.01 - 5.0).collect();
    let mut dst = vec![0.0f32; n];
    millis("raw sigmoid_into (1 thread)", 50, || vpbench_kernels::activation::sigmoid_into(&mut dst, &src));
    millis("raw vec alloc+zero", 50, || { let v = vec![0.0f32; n]; std::hint::black_box(v); });
    millis("full cell step", 50, || {
        let gates = x2h.forward(x.clone()) + h2h.forward(h.clone());
        let [i, f, g, o]: [Tensor<4>; 4] = gates.chunk(4, 1).try_into().unwrap();
        let c2 = sigmoid(f) * cs.clone() + sigmoid(i) * tanh(g);
        let h2 = sigmoid(o) * tanh(c2.clone());
        sync(h2);
    });
    rayon::scope(|_| {
    millis("full cell step in rayon pool", 50, || {
        let gates = x2h.forward(x.clone()) + h2h.forward(h.clone());
        let [i, f, g, o]: [Tensor<4>; 4] = gates.chunk(4, 1).try_into().unwrap();
        let c2 = sigmoid(f) * cs.clone() + sigmoid(i) * tanh(g);
        let h2 = sigmoid(o) * tanh(c2.clone());
        sync(h2);
    });
    });
    // the two gate convolutions, forward and backward: summed, and joined (conv_sum);
    // alternated so that the VM's drift hits both alike
    let ad = d.autodiff();
    let (x2h, h2h) = (x2h.fork(&ad).train(), h2h.fork(&ad).train());
    let (xa, ha) = (x.clone().to_device(&ad).autodiff().require_grad(), h.clone().to_device(&ad).autodiff().require_grad());
    let step = |joined: bool| {
        let gates = if joined { conv_sum(&x2h, xa.clone(), &h2h, ha.clone()) } else { x2h.forward(xa.clone()) + h2h.forward(ha.clone()) };
        let grads = gates.sum().backward();
        std::hint::black_box(xa.grad(&grads));
    };
    for _ in 0..3 {
        millis("gate convs fwd+bwd, summed", 30, || step(false));
        millis("gate convs fwd+bwd, joined", 30, || step(true));
    }
    // the LSTM update after the convolutions, forward and backward: burn's chunk and
    // arithmetic, and the fused operations reading the gate tensor in place
    let gates = gates.to_device(&ad).autodiff().require_grad();
    let memory = cs.clone().to_device(&ad).autodiff().require_grad();
    let update = |fused: bool| {
        let h = if fused {
            let next = vpbench_kernels::lstm_memory(gates.clone(), 4, [0, 1, 2], memory.clone());
            vpbench_kernels::lstm_output(gates.clone(), 4, 3, next.clone()) + next
        } else {
            let [i, f, g, o]: [Tensor<4>; 4] = gates.clone().chunk(4, 1).try_into().unwrap();
            let next = sigmoid(f) * memory.clone() + sigmoid(i) * tanh(g);
            sigmoid(o) * tanh(next.clone()) + next
        };
        let grads = h.sum().backward();
        std::hint::black_box(gates.grad(&grads));
    };
    for _ in 0..3 {
        millis("lstm update fwd+bwd, chunks", 30, || update(false));
        millis("lstm update fwd+bwd, fused", 30, || update(true));
    }
}

#[allow(dead_code)]
fn raw() {}
