//! The three products of a convolution's step, timed alone (shapes: COUT K N).
use std::time::Instant;

fn time(label: &str, macs: f64, mut f: impl FnMut()) {
    f();
    let t = Instant::now();
    for _ in 0..20 { f(); }
    let s = t.elapsed().as_secs_f64() / 20.0;
    println!("{label:34} {:7.3} ms {:6.1} GMAC/s", s * 1e3, macs / s / 1e9);
}

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (m, k, n) = (a[0], a[1], a[2]);
    let par = if a.get(3) == Some(&1) { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    let w = vec![0.5f32; m * k];
    let col = vec![0.25f32; k * n];
    let dy = vec![0.125f32; m * n];
    let mut y = vec![0.0f32; m * n];
    let mut dw = vec![0.0f32; m * k];
    let mut dcol = vec![0.0f32; k * n];
    let macs = (m * k * n) as f64;
    unsafe {
        time("forward  y = W col", macs, || gemm::gemm(m, n, k, y.as_mut_ptr(), 1, n as isize, false, w.as_ptr(), 1, k as isize, col.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, par));
        time("weight   dW = dy col^T", macs, || gemm::gemm(m, k, n, dw.as_mut_ptr(), 1, k as isize, true, dy.as_ptr(), 1, n as isize, col.as_ptr(), n as isize, 1, 1.0, 1.0, false, false, false, par));
        time("weight^T dW^T = col dy^T", macs, || gemm::gemm(k, m, n, dw.as_mut_ptr(), 1, m as isize, true, col.as_ptr(), 1, n as isize, dy.as_ptr(), n as isize, 1, 1.0, 1.0, false, false, false, par));
        // the patch matrix stored pixel-major (each pixel's patch contiguous): gemm reads it unpacked
        time("weight^T dW^T = colT dy^T", macs, || gemm::gemm(k, m, n, dw.as_mut_ptr(), 1, m as isize, true, col.as_ptr(), k as isize, 1, dy.as_ptr(), n as isize, 1, 1.0, 1.0, false, false, false, par));
        // dy stored transposed (pixel-major) as well
        time("weight^T dW^T = col dyT", macs, || gemm::gemm(k, m, n, dw.as_mut_ptr(), 1, m as isize, true, col.as_ptr(), 1, n as isize, dy.as_ptr(), 1, m as isize, 1.0, 1.0, false, false, false, par));
        time("weight^T dW^T = colT dyT", macs, || gemm::gemm(k, m, n, dw.as_mut_ptr(), 1, m as isize, true, col.as_ptr(), k as isize, 1, dy.as_ptr(), 1, m as isize, 1.0, 1.0, false, false, false, par));
        time("input    dcol = W^T dy", macs, || gemm::gemm(k, n, m, dcol.as_mut_ptr(), 1, n as isize, false, w.as_ptr(), k as isize, 1, dy.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, par));
    }
}
