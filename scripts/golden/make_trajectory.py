#!/usr/bin/env python3
"""Writes training-trajectory files from the authors' own training step, at configurations of
our choosing (the format of ../shared/golden/trajectory, README there).

    python scripts/golden/make_trajectory.py MS_RNN_DIR OUT_DIR

Each step is `train_and_test.py`'s: `opt.zero_grad()`, `model([x, eta, epoch], mode='train')`
(scheduled sampling inside `model.py`, its coin flips from `np.random.random_sample`, recorded
here as they are drawn), `Loss()(x[1:], pred, decouple)`, `backward()`, `opt.step()` with
`torch.optim.Adam(lr=3e-4)`; eta then falls by a fixed delta. One fresh process per file.
"""
import json
import subprocess
import sys
from pathlib import Path

from make_golden import authors_config

# registry id -> the authors' name; the public trajectory files use these ids
TRAJECTORY_MODELS = {"convlstm": "ConvLSTM", "sms-lstm": "MS-ConvLSTM", "tms-lstm": "MK-LSTM", "ms-lstm": "MS-LSTM",
                     "predrnn-v2": "PredRNN-V2", "mim": "MIM", "trajgru": "TrajGRU"}
CONFIGS = {
    # another size (a pyramid bottoming out at 3x3), batch, lengths and step count than the
    # public files; PredRNN-V2 mid-way through its reverse schedule
    "twin": dict(C=1, H=12, W=12, in_len=3, out_len=4, batch=3, hidden=6, seed=21, steps=4,
                 eta_start=0.9, eta_delta=0.2, epoch=10, cfg_epoch=20),
}
LR = 3e-4


def generate(repo, model_id, c, out):
    import numpy as np
    import torch
    from safetensors.torch import save_file

    name = TRAJECTORY_MODELS[model_id]
    cfg = authors_config(repo, name, c)
    cfg.epoch = c["cfg_epoch"]
    cfg.reverse_scheduled_sampling = "PredRNN-V2" in name
    cfg.scheduled_sampling = not cfg.reverse_scheduled_sampling
    import models
    from loss import Loss
    from model import Model
    from collections import OrderedDict

    rnn_class = {"ConvLSTM": models.ConvLSTM, "MS-ConvLSTM": models.MS_ConvLSTM, "MK-LSTM": models.MK_LSTM, "MS-LSTM": models.MS_LSTM,
                 "PredRNN-V2": models.PredRNN_V2, "MIM": models.MIM, "TrajGRU": models.TrajGRU}[name]
    hs, b, h, w = c["hidden"], c["batch"], c["H"], c["W"]
    torch.manual_seed(c["seed"])
    rnn = rnn_class(input_channel=hs, output_channel=hs, b_h_w=(b, h, w), kernel_size=3, stride=1, padding=1)
    net = Model(OrderedDict({"conv_embed": [c["C"], hs, 1, 1, 0, 1]}), rnn, OrderedDict({"conv_fc": [hs, c["C"], 1, 1, 0, 1]}))
    tensors = {f"param.{k}": v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    draws = []
    random_sample = np.random.random_sample

    def recorded(shape):
        values = random_sample(shape)
        draws.append(values)
        return values

    np.random.random_sample = recorded
    np.random.seed(c["seed"])
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    s = c["in_len"] + c["out_len"]
    generator = torch.Generator().manual_seed(c["seed"])
    etas = []
    eta = c["eta_start"]
    for k in range(c["steps"]):
        frames = torch.rand(b, s, c["C"], h, w, generator=generator)
        x = frames.permute(1, 0, 2, 3, 4)
        draws.clear()
        opt.zero_grad()
        pred, decouple = net([x, eta, c["epoch"]], mode="train")
        loss = Loss()(x[1:], pred, decouple)
        loss.backward()
        opt.step()
        tensors[f"frames.{k}"] = frames.contiguous()
        tensors[f"loss.{k}"] = loss.detach().reshape(1).contiguous()
        if cfg.reverse_scheduled_sampling:
            tensors[f"flips_r.{k}"] = torch.tensor(draws[0], dtype=torch.float32)
        tensors[f"flips.{k}"] = torch.tensor(draws[-1], dtype=torch.float32)
        etas.append(eta)
        eta = max(eta - c["eta_delta"], 0)
    for key, v in net.state_dict().items():
        tensors[f"param_final.{key}"] = v.detach().contiguous()
    meta = {k: str(c[k]) for k in ("C", "H", "W", "in_len", "out_len", "batch", "hidden", "seed", "steps", "epoch", "cfg_epoch")}
    meta.update(model_name=name, id=model_id, layers="6", kernel="3", lr=str(LR), eta=",".join(repr(e) for e in etas),
                decouple_loss_weight=str(cfg.decouple_loss_weight), optimizer="torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8)",
                mask_rule="flips < eta -> true frame; PredRNN-V2: flips_r < eta_r for t < in_len-1, flips < eta after",
                generator="vpbench scripts/golden/make_trajectory.py", torch=torch.__version__)
    save_file(tensors, out, metadata=meta)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, repo, model_id, config, out = sys.argv
        generate(repo, model_id, json.loads(config), out)
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    repo, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for name, config in CONFIGS.items():
        for model_id in TRAJECTORY_MODELS:
            target = out / f"{model_id}.{name}.safetensors"
            done = subprocess.run([sys.executable, __file__, "--child", repo, model_id, json.dumps(config), str(target)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{target.name}: the authors' code failed:\n{done.stderr[-2000:]}")
            print(f"{target.name}: written", flush=True)


if __name__ == "__main__":
    main()
