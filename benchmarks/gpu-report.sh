#!/usr/bin/env bash
# The prepared device check: one call on a machine with a GPU, with the carried binary.
#
#   benchmarks/gpu-report.sh BINARY DEVICE GOLDEN_DIR OUT_DIR [PROFILE] [STEPS] [MS_RNN_DIR]
#
# BINARY     the xtask binary (`cargo xtask build-gpu`, unpacked), or target/debug/xtask
# DEVICE     cuda:0, vulkan:0, or vulkan:cpu (lavapipe: how CI tests this script)
# GOLDEN_DIR a folder of golden files (../shared/golden/public, copied into the checkout)
# OUT_DIR    where everything is written ($OUT on a lent machine; benchmarks/results/<name>)
# PROFILE    bench profile, `paper` (default: the paper's configuration) or `smoke`
# STEPS      timed steps per model (default 5; warm-up 2)
# MS_RNN_DIR a checkout of the authors' code (mazhf/MS-RNN): where python3 imports torch with
#            CUDA, their Table 3 and Table 4 models are timed on the same GPU at the paper
#            configuration, cuDNN off (as they ran) and on (benchmarks/torch_gpu_step_bench.py
#            -> torch.jsonl)
#
# Writes: device.txt (probe: adapter, driver, nvidia-smi), golden.txt (every golden file on
# DEVICE), bench-table3-*.{json,csv,md} and bench-table4-*.{json,csv,md} (with the burn
# features that were on, the allocator's peaks and, on an NVIDIA card, NVML's energy per
# training sequence), autotune-decisions.jsonl and autotune-winners.txt (the kernel burn's
# autotune chose for each shape it tuned), and summary.md with the commit, device and commands. Each step runs even if an earlier one
# failed; the exit status is non-zero if any failed.
set -uo pipefail
if [ $# -lt 4 ]; then
    sed -n '2,17p' "$0" >&2
    exit 2
fi
bin=$1 device=$2 golden=$3 out=$4 profile=${5:-paper} steps=${6:-5} authors=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# burn's autotune decisions, one JSON line per shape tuned in this call (the candidates' times
# and the winner), through CubeCL's configuration file in the working folder
if [ ! -e cubecl.toml ]; then
    printf '[autotune.decisions]\nfile = "%s"\n' "$out/autotune-decisions.jsonl" >cubecl.toml
    trap 'rm -f cubecl.toml' EXIT
fi
failed=()
step() { # name, command...
    local name=$1
    shift
    echo "== $name: $*" >&2
    if ! "$@"; then
        failed+=("$name")
        echo "== $name FAILED" >&2
    fi
}
{
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -a)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,pci.bus_id,memory.total --format=csv
} >"$out/device.txt" 2>&1
step golden "$bin" verify-golden --device "$device" "$golden"/*.safetensors > >(tee "$out/golden.txt") 2>&1
for table in 3 4; do
    step "bench-table$table" "$bin" bench --table "$table" --profile "$profile" --device "$device" \
        --steps "$steps" --warmup 2 --quiet --out "$out" --name "bench-table$table-$profile-${device/:/}"
done
# which kernel autotune chose, counted by kernel (shapes tuned in an earlier call come from
# burn's on-disk cache and are not listed again)
if [ -s "$out/autotune-decisions.jsonl" ]; then
    python3 - "$out/autotune-decisions.jsonl" >"$out/autotune-winners.txt" <<'PY' || true
import collections, json, sys
wins = collections.Counter()
for line in open(sys.argv[1]):
    d = json.loads(line)
    ok = [r["outcome"]["Ok"] for r in d.get("results", []) if "Ok" in r.get("outcome", {})]
    best = [o["name"] for o in ok if o.get("index") == d.get("fastest_index")]
    wins[best[0] if best else "?"] += 1
for name, n in wins.most_common():
    print(f"{n:5d}  {name}")
PY
fi
if [ -n "$authors" ]; then
    if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        # Table 3's models, then Table 4's others (the authors' names)
        for model in ConvLSTM MS-ConvLSTM MK-LSTM MS-LSTM PredRNN PredRNN++ PredRNN-V2 MIM MotionRNN; do
            for cudnn in off on; do
                step "torch-$model-cudnn-$cudnn" python3 "$here/torch_gpu_step_bench.py" "$authors" "$model" \
                    --steps "$steps" --cudnn "$cudnn" >>"$out/torch.jsonl"
            done
        done
    else
        echo "== torch: SKIPPED (python3 cannot import torch with a CUDA GPU)" | tee "$out/torch.jsonl"
    fi
fi
{
    echo "# GPU report"
    echo
    echo "- Command: \`benchmarks/gpu-report.sh $*\`"
    echo "- Binary: $("$bin" --version 2>/dev/null || basename "$bin")"
    echo "- Failed steps: ${failed[*]:-none}"
    echo
    echo '```'
    cat "$out/device.txt"
    grep -E '^device|^golden on' "$out/golden.txt"
    echo '```'
    for md in "$out"/bench-table*.md; do [ -f "$md" ] && { echo; cat "$md"; }; done
    [ -s "$out/autotune-winners.txt" ] && { echo; echo "## Kernels burn's autotune chose (shapes per kernel)"; echo; echo '```'; cat "$out/autotune-winners.txt"; echo '```'; }
    [ -f "$out/torch.jsonl" ] && { echo; echo '## The authors'"'"' PyTorch code on the same GPU'; echo; echo '```'; cat "$out/torch.jsonl"; echo '```'; }
} >"$out/summary.md"
cat "$out/summary.md"
[ ${#failed[@]} -eq 0 ]
