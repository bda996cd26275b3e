#!/usr/bin/env python3
"""Writes golden files of the recurrent models from the authors' own code, at configurations
of our choosing (the format of ../shared/golden/public, README there).

    python scripts/golden/make_golden.py MS_RNN_DIR OUT_DIR [--check-public ../shared/golden/public]

MS_RNN_DIR is a checkout of mazhf/MS-RNN (read from there, never committed here). Each model
and configuration runs in a fresh process (the authors' code reads its global `cfg` while
building); a combination the authors' code cannot run (a shape error at some size) is listed
in OUT_DIR/MANIFEST.md with its error, not written. `--check-public` first regenerates every
public file at its own configuration and stops unless outputs, loss and gradients agree to
float32 rounding: the generator is proven on the reference before it writes anything new.

Needs the PyTorch environment of `bash benchmarks/install-pytorch.sh` plus `safetensors`.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# id -> the authors' model name (config.py)
MODELS = {
    "convlstm": "ConvLSTM", "trajgru": "TrajGRU", "predrnn": "PredRNN", "predrnn-pp": "PredRNN++",
    "predrnn-v2": "PredRNN-V2", "mim": "MIM", "motionrnn": "MotionRNN", "preciplstm": "PrecipLSTM",
    "cms-lstm": "CMS-LSTM", "modernn": "MoDeRNN", "mk-lstm": "MK-LSTM", "ms-convlstm": "MS-ConvLSTM",
    "ms-lstm": "MS-LSTM", "ms-trajgru": "MS-TrajGRU", "ms-predrnn": "MS-PredRNN",
    "ms-predrnn-pp": "MS-PredRNN++", "ms-predrnn-v2": "MS-PredRNN-V2", "ms-mim": "MS-MIM",
    "ms-motionrnn": "MS-MotionRNN", "ms-preciplstm": "MS-PrecipLSTM", "ms-cms-lstm": "MS-CMS-LSTM",
    "ms-modernn": "MS-MoDeRNN",
}

# Shapes the public files do not reach: odd and non-square frames (a pyramid whose lowest
# level is odd, 2x2 or 3x3), two and three channels, hidden sizes that are not multiples of
# 8, batches of 1 and 3, in_len != out_len. Small on purpose: they run in `cargo test`.
CONFIGS = {
    "odd-pyramid": dict(C=2, H=12, W=12, in_len=3, out_len=2, batch=3, hidden=6, seed=11),
    "tiny": dict(C=1, H=8, W=8, in_len=2, out_len=3, batch=1, hidden=4, seed=12),
    "wide": dict(C=1, H=16, W=24, in_len=3, out_len=2, batch=2, hidden=4, seed=13),
    "odd-flat": dict(C=3, H=7, W=9, in_len=2, out_len=2, batch=2, hidden=5, seed=14),
    # MS-CMS-LSTM cuts its H/4 level into 4x4 blocks: square frames, a multiple of 16
    "square-16": dict(C=2, H=16, W=16, in_len=2, out_len=3, batch=3, hidden=4, seed=15),
}
# Configurations made for some models only (the others are covered by the rest).
ONLY = {"square-16": ["cms-lstm", "ms-cms-lstm", "ms-motionrnn"]}
LAYERS, KERNEL = 6, 3


def local_attention_module():
    """The five functions of the authors' compiled `localAttention` extension in plain
    PyTorch (../shared/golden/README.md, "Local attention"): neighbour offsets -k//2 ..
    k-1-k//2, out-of-image neighbours 0; each backward the exact adjoint of its forward."""
    import types
    import torch
    import torch.nn.functional as F

    def neighbours(t, kh, kw):
        b, c, h, w = t.shape
        padded = F.pad(t, (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2))
        return F.unfold(padded, (kh, kw)).view(b, c, kh * kw, h, w)

    def similar_forward(q, k, kh, kw):
        return (q.unsqueeze(2) * neighbours(k, kh, kw)).sum(1).permute(0, 2, 3, 1).contiguous()

    def weighting_forward(v, a, kh, kw):
        return (neighbours(v, kh, kw) * a.permute(0, 3, 1, 2).unsqueeze(1)).sum(2)

    def adjoint(f, shape, other, grad, first):
        x = torch.zeros(shape, dtype=grad.dtype, requires_grad=True)
        with torch.enable_grad():
            y = f(x, other) if first else f(other, x)
            (g,) = torch.autograd.grad(y, x, grad)
        return g

    def similar_backward(other, grad, kh, kw, is_ori):
        f = lambda a, b: similar_forward(a, b, kh, kw)
        return adjoint(f, other.shape, other, grad, is_ori)

    def weighting_backward_ori(a, grad, kh, kw):
        return adjoint(lambda v, w: weighting_forward(v, w, kh, kw), grad.shape, a, grad, True)

    def weighting_backward_weight(v, grad, kh, kw):
        b, _, h, w = v.shape
        return adjoint(lambda x, a: weighting_forward(x, a, kh, kw), (b, h, w, kh * kw), v, grad, False)

    m = types.ModuleType("localAttention")
    for f in (similar_forward, similar_backward, weighting_forward, weighting_backward_ori, weighting_backward_weight):
        setattr(m, f.__name__, f)
    return m


def authors_config(repo, model_name, c):
    """The authors' global `cfg`, set for `model_name` at configuration `c` before any of their
    model modules is imported: one thread, `.cuda()` the identity, the local-attention
    extension replaced."""
    import torch

    torch.set_num_threads(1)
    torch.Tensor.cuda = lambda self, *a, **k: self
    torch.nn.Module.cuda = lambda self, *a, **k: self
    sys.modules["localAttention"] = local_attention_module()
    sys.path.insert(0, repo)
    from config import cfg

    cfg.model_name, cfg.dataset = model_name, "moving-mnist-20"
    cfg.height, cfg.width, cfg.in_len, cfg.out_len = c["H"], c["W"], c["in_len"], c["out_len"]
    cfg.batch, cfg.lstm_hidden_state, cfg.LSTM_layers, cfg.kernel_size = c["batch"], c["hidden"], LAYERS, KERNEL
    return cfg


def generate(repo, model_id, config, out):
    """One model at one configuration, in this process."""
    import torch
    from safetensors.torch import save_file

    c = config
    cfg = authors_config(repo, MODELS[model_id], c)
    cfg.scheduled_sampling = cfg.reverse_scheduled_sampling = False
    import models
    from loss import Loss
    from model import Model

    rnn_class = {
        "ConvLSTM": models.ConvLSTM, "TrajGRU": models.TrajGRU, "PredRNN": models.PredRNN,
        "PredRNN++": models.PredRNN_Plus2, "PredRNN-V2": models.PredRNN_V2, "MIM": models.MIM,
        "MotionRNN": models.MotionRNN, "PrecipLSTM": models.PrecipLSTM, "CMS-LSTM": models.CMS_LSTM,
        "MoDeRNN": models.MoDeRNN, "MK-LSTM": models.MK_LSTM, "MS-ConvLSTM": models.MS_ConvLSTM,
        "MS-LSTM": models.MS_LSTM, "MS-TrajGRU": models.MS_TrajGRU, "MS-PredRNN": models.MS_PredRNN,
        "MS-PredRNN++": models.MS_PredRNN_Plus2, "MS-PredRNN-V2": models.MS_PredRNN_V2, "MS-MIM": models.MS_MIM,
        "MS-MotionRNN": models.MS_MotionRNN, "MS-PrecipLSTM": models.MS_PrecipLSTM,
        "MS-CMS-LSTM": models.MS_CMS_LSTM, "MS-MoDeRNN": models.MS_MoDeRNN,
    }[cfg.model_name]
    from collections import OrderedDict

    hs, b, h, w = c["hidden"], c["batch"], c["H"], c["W"]
    torch.manual_seed(c["seed"])
    rnn = rnn_class(input_channel=hs, output_channel=hs, b_h_w=(b, h, w), kernel_size=3, stride=1, padding=1)
    net = Model(OrderedDict({"conv_embed": [c["C"], hs, 1, 1, 0, 1]}), rnn, OrderedDict({"conv_fc": [hs, c["C"], 1, 1, 0, 1]}))
    net.eval()
    s = c["in_len"] + c["out_len"]
    frames = torch.rand(b, s, c["C"], h, w, generator=torch.Generator().manual_seed(c["seed"]))
    x = frames.permute(1, 0, 2, 3, 4)
    outputs, decouple = net([x, 0.0, cfg.epoch], mode="test")
    loss = Loss()(x[1:], outputs, decouple)
    loss.backward()
    tensors = {
        "frames": frames.contiguous(),
        "expected": outputs.detach().permute(1, 0, 2, 3, 4).contiguous(),
        "loss": loss.detach().reshape(1).contiguous(),
    }
    for key, p in net.state_dict().items():
        tensors[f"param.{key}"] = p.detach().contiguous()
    for key, p in net.named_parameters():
        grad = p.grad if p.grad is not None else torch.zeros_like(p)
        tensors[f"grad.{key}"] = grad.detach().contiguous()
    meta = {k: str(v) for k, v in c.items()}
    meta.update(model_name=cfg.model_name, id=model_id, layers=str(LAYERS), kernel=str(KERNEL),
                param_count=str(sum(p.numel() for p in net.parameters() if p.requires_grad)),
                generator="vpbench scripts/golden/make_golden.py", torch=torch.__version__,
                loss_definition="mean_{s,b} sum d^2 + mean_{s,b} sum |d| (+ 0.01 decouple for PredRNN-V2)")
    save_file(tensors, out, metadata=meta)


def run_child(repo, model_id, config, out):
    args = [sys.executable, __file__, "--child", repo, model_id, json.dumps(config), str(out)]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [l for l in done.stderr.strip().splitlines() if l.strip()]
        return lines[-1] if lines else f"exit {done.returncode}"
    return None


def public_config(path):
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        m = f.metadata()
    return {k: int(m[k]) for k in ("C", "H", "W", "in_len", "out_len", "batch", "hidden", "seed")}, m["id"]


def compare(ours, theirs):
    """The largest relative difference; a gradient whose norm is float32 noise (below 1e-5 of
    the largest gradient norm, as models/src/golden.rs floors it) relative to that largest."""
    from safetensors.torch import load_file

    a, b = load_file(ours), load_file(theirs)
    largest = max(t.norm().item() for k, t in b.items() if k.startswith("grad."))
    worst = 0.0
    for key, want in b.items():
        floor = 1e-5 * largest if key.startswith("grad.") else 0.0
        scale = max(want.norm().item(), floor, 1e-30)
        worst = max(worst, (a[key] - want).norm().item() / scale)
    return worst


def check_public(repo, public_dir, scratch):
    for path in sorted(Path(public_dir).glob("*.safetensors")):
        try:
            config, model_id = public_config(path)
        except KeyError:
            continue  # SimVP and Earthformer: not made by this script
        if model_id not in MODELS:
            continue
        out = Path(scratch) / path.name
        error = run_child(repo, model_id, config, out)
        if error:
            sys.exit(f"{path.name}: the generator failed on the public configuration: {error}")
        worst = compare(out, path)
        print(f"public {model_id}: largest relative difference {worst:.2e}")
        if worst > 1e-5:
            sys.exit(f"{path.name}: the generator does not reproduce the public file ({worst:.2e})")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, repo, model_id, config, out = sys.argv
        generate(repo, model_id, json.loads(config), out)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("repo", help="checkout of mazhf/MS-RNN")
    p.add_argument("out", help="folder for the golden files and MANIFEST.md")
    p.add_argument("--check-public", metavar="DIR", help="regenerate these public files first and compare")
    p.add_argument("--models", help="comma-separated ids (default: all)")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.check_public:
        check_public(a.repo, a.check_public, out)
        for f in out.glob("*.safetensors"):
            f.unlink()
    ids = a.models.split(",") if a.models else list(MODELS)
    unknown = [i for i in ids if i not in MODELS]
    if unknown:
        p.error(f"--models: unknown id(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    rows = []
    for name, config in CONFIGS.items():
        for model_id in (i for i in ids if i in ONLY.get(name, ids)):
            target = out / f"{model_id}.{name}.safetensors"
            error = run_child(a.repo, model_id, config, target)
            status = f"not generated: the authors' code fails ({error})" if error else "written"
            print(f"{target.name}: {status}", flush=True)
            rows.append(f"| {model_id} | {name} | {status.replace('|', '/')} |")
    commit = subprocess.run(["git", "-C", a.repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    header = ["# Golden files made by scripts/golden/make_golden.py", "",
              f"From mazhf/MS-RNN at {commit or 'an unknown commit'}; configurations:", ""]
    header += [f"- `{n}`: " + ", ".join(f"{k}={v}" for k, v in c.items()) for n, c in CONFIGS.items()]
    header += ["", "| model | configuration | file |", "| --- | --- | --- |"]
    (out / "MANIFEST.md").write_text("\n".join(header + rows) + "\n")


if __name__ == "__main__":
    main()
