#!/usr/bin/env python3
"""The authors' PyTorch model (mazhf/MS-RNN) on a GPU, beside `cargo xtask bench` on the same GPU.

One training step (forward, their L2+L1 loss, backward, Adam) and one evaluation forward at
the given configuration, median of timed steps after warm-up, each ended by
torch.cuda.synchronize(); peak memory from torch's allocator. cuDNN off (`--cudnn off`) is how
the authors ran (their train script sets torch.backends.cudnn.enabled = False); on is PyTorch's
default. Prints one JSON line.

    torch_gpu_step_bench.py MS_RNN_DIR MODEL_NAME [--size 64] [--in-len 10] [--out-len 10]
        [--hidden 32] [--batch 4] [--warmup 2] [--steps 5] [--cudnn off|on]

MS_RNN_DIR is a checkout of the authors' repository given by the user (never committed here).
PrecipLSTM needs their compiled local-attention extension and is not covered.
"""
import argparse
import json
import statistics
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("repo")
p.add_argument("model")
p.add_argument("--size", type=int, default=64)
p.add_argument("--in-len", type=int, default=10)
p.add_argument("--out-len", type=int, default=10)
p.add_argument("--hidden", type=int, default=32)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--cudnn", choices=["off", "on"], default="off")
a = p.parse_args()

import torch

if not torch.cuda.is_available():
    sys.exit("torch_gpu_step_bench: torch sees no CUDA GPU")
torch.backends.cudnn.enabled = a.cudnn == "on"
sys.path.insert(0, a.repo)
from config import cfg  # the authors' configuration module

cfg.model_name = a.model
cfg.dataset = "moving-mnist-20"
cfg.height = cfg.width = a.size
cfg.in_len, cfg.out_len = a.in_len, a.out_len
cfg.batch, cfg.lstm_hidden_state = a.batch, a.hidden
cfg.LSTM_layers, cfg.kernel_size = 6, 3
cfg.scheduled_sampling, cfg.reverse_scheduled_sampling = True, False
cfg.epoch = 40
import net_params
from loss import Loss
from model import Model

torch.manual_seed(0)
net = Model(net_params.nets[0], net_params.nets[1], net_params.nets[2]).cuda()
params = sum(q.numel() for q in net.parameters() if q.requires_grad)
opt = torch.optim.Adam(net.parameters(), lr=3e-4)
crit = Loss()
x = torch.rand(a.in_len + a.out_len, a.batch, 1, a.size, a.size, device="cuda")


def train_step():
    opt.zero_grad()
    out, decouple = net([x, 0.5, 1], mode="train")
    crit(x[1:], out, decouple).backward()
    opt.step()


def eval_step():
    with torch.no_grad():
        net.eval()
        net.use_ss = False
        net([x, 0.0, 1], mode="test")
        net.train()
        net.use_ss = True


def timed(step):
    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


torch.cuda.reset_peak_memory_stats()
train = timed(train_step)
peak_train = torch.cuda.max_memory_allocated()
evaluation = timed(eval_step)
print(json.dumps({
    "model": a.model, "params": params, "batch": a.batch, "size": a.size,
    "seq_len": a.in_len + a.out_len, "hidden": a.hidden, "cudnn": a.cudnn,
    "train_step_median_s": train, "train_sequences_per_s": a.batch / train,
    "eval_step_median_s": evaluation, "eval_sequences_per_s": a.batch / evaluation,
    "peak_allocated_bytes": peak_train, "torch": torch.__version__,
    "gpu": torch.cuda.get_device_name(0),
}))
