#!/usr/bin/env bash
# Installs the PyTorch side of the CPU comparison (`cargo xtask bench --against-pytorch`):
# a virtual environment at .venv-torch (git-ignored) with PyPI's torch 2.3.1 (its CUDA wheel
# runs on the CPU; it pulls the nvidia-* wheels, about 2.5 GB) and numpy. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-torch
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; then
    echo "PyTorch already installed: $("$venv/bin/python" -c 'import torch; print(torch.__version__)')"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check torch==2.3.1 'numpy<2'
"$venv/bin/python" -c 'import torch; print("installed PyTorch", torch.__version__, "in '"$venv"'")'
