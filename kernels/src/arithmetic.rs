//! Which SIMD class the CPU kernels run on: it decides their rounding.

use crate::simd::{SimdLevel, level, machine_level};

/// The SIMD class the CPU kernels (gemm's microkernels, burn-flex's and vpbench's
/// elementwise code, [`crate::direct_conv`]) dispatch to on this machine: "avx512",
/// "avx2", "x86-64", or the architecture's name elsewhere. Results depend on it bit for bit:
/// some of gemm's paths sum in lanes of the vector width (its dot-product kernels, which the
/// weight gradient of a one-channel output convolution takes). The 3x3 and 5x5 "same"
/// convolutions are the direct kernels' on both "avx2" and "avx512"; those sum in the same
/// order on either. Where `VPBENCH_ISA` forces vpbench's own kernels below the machine's
/// level (gemm and burn-flex still run the machine's), the class says so, e.g.
/// "avx512+kernels-scalar": a class of its own, with its own ci-regress baseline.
pub fn arithmetic_class() -> &'static str {
    match (machine_class(), level()) {
        (class, l) if l == machine_level() => class,
        ("avx512", SimdLevel::Avx2) => "avx512+kernels-avx2",
        ("avx512", _) => "avx512+kernels-scalar",
        ("avx2", _) => "avx2+kernels-scalar",
        (class, _) => class,
    }
}

fn machine_class() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        match machine_level() {
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Scalar => "x86-64",
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::env::consts::ARCH
}
