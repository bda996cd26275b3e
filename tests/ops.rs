//! The operations written for the authors' models, against hand-computed values.

use burn::tensor::{Device, Tensor, TensorData};
use vpbench_models::ops::{local_attention, warp};

fn t4(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, shape), &Device::flex())
}

fn read(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn warp_samples_where_the_reference_does() {
    // 2x3 image, zero flow: the (W-1)-normalised grid sampled with align_corners=False lands on
    // x' = 1.5 x - 0.5 and y' = 2 y - 0.5, with zero padding outside the image.
    let input = t4(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [1, 1, 2, 3]);
    let zero = Tensor::<3>::zeros([1, 2, 3], &Device::flex());
    let got = read(warp(input.clone(), zero.clone(), zero.clone()));
    let want = [0.0, 0.5, 0.5, 0.75, 2.0, 1.25];
    assert!(
        got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6),
        "{got:?}"
    );
    // a flow of one third of a pixel to the right moves x' by exactly 0.5
    let right = Tensor::<3>::ones([1, 2, 3], &Device::flex()).div_scalar(3.0);
    let got = read(warp(input, right, zero));
    // row 0 (weight 0.5): x' = 0, 1.5, 3 -> 0, 1.5, 0 (half of col 2 at 3.0 is outside... x'=3 is col 3: 0)
    let want = [0.0, 0.75, 0.0, 1.5, 2.25, 0.0];
    assert!(
        got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-5),
        "{got:?}"
    );
}

#[test]
fn local_attention_by_hand() {
    // C = 1, a 1x2 image, window 2: offsets -1..0 in both directions, out-of-image keys score 0.
    let q = t4(vec![1.0, 2.0], [1, 1, 1, 2]);
    let k = t4(vec![1.0, 1.0], [1, 1, 1, 2]);
    let v = t4(vec![10.0, 20.0], [1, 1, 1, 2]);
    let got = read(local_attention(q, k, v, 2));
    let e = std::f32::consts::E;
    // pixel 0 sees only itself (score 1) among 4 slots; pixel 1 sees both pixels (score 2 each)
    let want = [10.0 * e / (3.0 + e), 30.0 * e * e / (2.0 + 2.0 * e * e)];
    assert!(
        got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-4),
        "{got:?} vs {want:?}"
    );
}
