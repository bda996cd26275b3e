#!/usr/bin/env python3
"""The PyTorch side of `cargo xtask bench --against-pytorch`.

Times the authors' own model code (a checkout of mazhf/MS-RNN, never committed here) on the
CPU exactly as vpbench's bench times its models: one training step (forward with scheduled
sampling, the authors' L2+L1 loss, backward, Adam at lr 3e-4) and one evaluation forward,
both at the same batch, after `--warmup` untimed steps, median of `--steps` timed ones.
Prints one JSON line with both medians, the parameter count, the process's peak RSS and
the versions.

    python torch_step_bench.py MS_RNN_DIR MODEL_NAME --size 32 --in-len 5 --out-len 5 \
        --hidden 16 --layers 6 --batch 4 --threads 2 --warmup 1 --steps 3

MODEL_NAME is the authors' name (ConvLSTM, MS-ConvLSTM, MK-LSTM, MS-LSTM, PredRNN, ...).
Their code calls .cuda(); it is made the identity. Their PrecipLSTM needs a compiled CUDA
extension: it is stubbed, so PrecipLSTM cannot be timed here (the script says so).
"""
import argparse
import json
import platform
import resource
import statistics
import sys
import time
import types

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("repo")
p.add_argument("model")
p.add_argument("--size", type=int, required=True)
p.add_argument("--in-len", type=int, required=True)
p.add_argument("--out-len", type=int, required=True)
p.add_argument("--hidden", type=int, required=True)
p.add_argument("--layers", type=int, required=True)
p.add_argument("--kernel", type=int, default=3)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--steps", type=int, default=3)
a = p.parse_args()
if "PrecipLSTM" in a.model:
    sys.exit(f"{a.model}: needs the authors' compiled CUDA local-attention extension; not timed")

import torch

torch.set_num_threads(a.threads)
torch.Tensor.cuda = lambda self, *args, **kwargs: self
torch.nn.Module.cuda = lambda self, *args, **kwargs: self
stub = types.ModuleType("localAttention")
for name in ("similar_forward", "similar_backward", "weighting_forward", "weighting_backward_ori", "weighting_backward_weight"):
    setattr(stub, name, None)
sys.modules.setdefault("localAttention", stub)
sys.path.insert(0, a.repo)

from config import cfg  # noqa: E402  (the authors' global configuration object)

cfg.model_name = a.model
cfg.dataset = "moving-mnist-20"
cfg.height = cfg.width = a.size
cfg.in_len, cfg.out_len = a.in_len, a.out_len
cfg.batch = a.batch
cfg.lstm_hidden_state = a.hidden
cfg.LSTM_layers = a.layers
cfg.kernel_size = a.kernel
# The authors train PredRNN-V2 with reverse scheduled sampling, the others with scheduled sampling.
cfg.reverse_scheduled_sampling = "PredRNN-V2" in a.model
cfg.scheduled_sampling = not cfg.reverse_scheduled_sampling
import net_params  # noqa: E402
from loss import Loss  # noqa: E402
from model import Model  # noqa: E402

torch.manual_seed(0)
net = Model(net_params.nets[0], net_params.nets[1], net_params.nets[2])
params = sum(t.numel() for t in net.parameters() if t.requires_grad)
optimizer = torch.optim.Adam(net.parameters(), lr=3e-4)
criterion = Loss()
frames = torch.rand(a.in_len + a.out_len, a.batch, 1, a.size, a.size)


def train_step():
    optimizer.zero_grad()
    out, decouple_loss = net([frames, 0.5, 1], mode="train")
    criterion(frames[1:], out, decouple_loss).backward()
    optimizer.step()


def eval_step():
    with torch.no_grad():
        # Evaluation feeds the model its own predictions (no sampling), as vpbench's does.
        net.eval()
        net.use_ss, net.use_rss = False, False
        net([frames, 0.0, 1], mode="test")
        net.train()
        net.use_ss, net.use_rss = cfg.scheduled_sampling, cfg.reverse_scheduled_sampling


def median_seconds(step):
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


train_s = median_seconds(train_step)
eval_s = median_seconds(eval_step)
print(json.dumps({
    "model": a.model,
    "params": params,
    "batch": a.batch,
    "threads": a.threads,
    "train_step_median_s": train_s,
    "eval_step_median_s": eval_s,
    # ru_maxrss is in KiB on Linux.
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "torch": torch.__version__,
    "python": platform.python_version(),
}))
