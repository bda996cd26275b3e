"""One gate convolution forward and forward+backward in PyTorch, beside
kernels/examples/conv_speed.rs (same shapes: batch, channels in, size, kernel; 4x channels
out), and the 512/1024 matrix-product rate. Run with the bench's interpreter:
    .venv-torch/bin/python benchmarks/torch_conv_probe.py [THREADS]
"""
import sys
import time

import torch


def seconds(f, reps):
    f()
    start = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - start) / reps


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}")
    for n in (512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        print(f"matmul {n}: {n**3 / seconds(lambda: a @ b, 50) / 1e9:.1f} GMAC/s")
    for batch, c, size, k in ((4, 32, 32, 5), (4, 32, 32, 3), (4, 64, 64, 5), (4, 64, 64, 3)):
        conv = torch.nn.Conv2d(c, 4 * c, k, padding=k // 2)
        x = torch.randn(batch, c, size, size, requires_grad=True)
        macs = batch * size * size * c * 4 * c * k * k
        forward = seconds(lambda: conv(x), 10)
        both = seconds(lambda: conv(x).sum().backward(), 5)
        print(f"conv {batch} {c} {size} k{k}: forward {forward * 1e3:.2f} ms ({macs / forward / 1e9:.1f} GMAC/s), "
              f"forward+backward {both * 1e3:.2f} ms ({3 * macs / both / 1e9:.1f} GMAC/s)")


if __name__ == "__main__":
    main()
