//! GELU with its exact gradient on every backend.
//!
//! burn 0.22's `activation::gelu` computes the exact (erf) GELU forward, but its backward is
//! the derivative of the *tanh approximation* on every backend that does not override it
//! (burn-backend's default `gelu_backward`, taken by CubeCL and fusion; flex overrides it
//! exactly). That moved Earthformer's gradients by 5e-4 on Vulkan against the official
//! PyTorch code (`nn.GELU()`, exact). Written from `erf`, autodiff differentiates it exactly
//! everywhere: `0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)`.

use burn::tensor::Tensor;

/// `x (1 + erf(x / sqrt 2)) / 2`, PyTorch's `nn.GELU()` (approximate = "none").
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let cdf = (x.clone() / std::f64::consts::SQRT_2).erf().add_scalar(1.0);
    x * cdf / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    const POINTS: [f32; 9] = [-4.0, -2.5, -1.0, -0.3, 0.0, 0.2, 0.9, 2.0, 3.7];

    fn exact_derivative(x: f64) -> f64 {
        let cdf = 0.5 * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
        cdf + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }

    /// erf by its Taylor series (converges for |x| < 3, the range used here).
    fn libm_erf(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn the_gradient_is_the_exact_one_not_the_tanh_approximations() {
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::from_data(TensorData::from(POINTS), &device).require_grad();
        let grads = gelu(x.clone()).sum().backward();
        let got: Vec<f32> = x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
        for (&p, &g) in POINTS.iter().zip(&got) {
            let want = exact_derivative(p as f64);
            assert!((g as f64 - want).abs() < 2e-6, "gelu'({p}) = {g}, exact {want}");
        }
        // the tanh approximation's derivative differs here by more than the tolerance
        let tanh_approx = |x: f64| {
            let inner = 0.797_884_6 * (x + 0.044_715 * x.powi(3));
            let t = inner.tanh();
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.797_884_6 * (1.0 + 3.0 * 0.044_715 * x * x)
        };
        assert!((tanh_approx(-1.0) - exact_derivative(-1.0)).abs() > 1e-4);
    }

    #[test]
    fn the_forward_is_pytorchs_exact_gelu() {
        let device = Device::flex();
        let x = Tensor::<1>::from_data(TensorData::from(POINTS), &device);
        let got: Vec<f32> = gelu(x).into_data().try_to_vec::<f32>().unwrap();
        for (&p, &g) in POINTS.iter().zip(&got) {
            let want = p as f64 * 0.5 * (1.0 + libm_erf(p as f64 / std::f64::consts::SQRT_2));
            assert!((g as f64 - want).abs() < 1e-6, "gelu({p}) = {g}, exact {want}");
        }
    }
}
