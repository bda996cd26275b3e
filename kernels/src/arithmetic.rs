//! Which SIMD class the CPU kernels run on: it decides their rounding.

/// The SIMD class the CPU kernels (gemm's microkernels, burn-flex's and vpbench's
/// elementwise code, [`crate::direct_conv`]) dispatch to on this machine: "avx512",
/// "avx2", "x86-64", or the architecture's name elsewhere. Results depend on it bit for bit:
/// some of gemm's paths sum in lanes of the vector width (its dot-product kernels, which the
/// weight gradient of a one-channel output convolution takes). The 3x3 and 5x5 "same"
/// convolutions are the direct kernels' on both "avx2" and "avx512"; those sum in the same
/// order on either.
pub fn arithmetic_class() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        // the features pulp's V4 and V3 levels (gemm's and burn-flex's dispatch) require
        if has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl") {
            return "avx512";
        }
        if has!("avx2") && has!("fma") {
            return "avx2";
        }
        "x86-64"
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::env::consts::ARCH
}
