#!/usr/bin/env bash
# Runs one of the project's programs on the newer lavapipe of scripts/install-newer-lavapipe.sh:
#
#   bash scripts/on-newer-lavapipe.sh target/debug/xtask reproduce-table 4 --device vulkan:cpu ...
#   bash scripts/on-newer-lavapipe.sh --prepare target/debug/xtask   # prints the copy's path
#                   (run it with VK_ICD_FILENAMES=<install folder>/lvp_icd.json)
#
# That Mesa was built against a newer glibc than the machine's, so the program runs on the
# glibc it came with: a copy of the binary whose ELF interpreter and library path point into
# the folder (patchelf). A copy, not a wrapper, so that the processes the program starts
# of itself (a sweep's isolated runs) run the same way. The copy lives beside the original,
# under target/newer-lavapipe/, and is remade when the original changes.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 [--prepare] PROGRAM [ARGS...]" >&2; exit 2; }
prepare_only=false
if [ "$1" = --prepare ]; then
    prepare_only=true
    shift
fi
program=$1
shift
[ -x "$program" ] || { echo "error: $program is not an executable (build it first)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(bash "$here/scripts/install-newer-lavapipe.sh")
command -v patchelf >/dev/null || { echo "error: patchelf is missing (bash scripts/install-system-deps.sh)" >&2; exit 1; }
libs="$root/usr/lib/x86_64-linux-gnu"
copy_dir="$here/target/newer-lavapipe"
copy="$copy_dir/$(basename "$program")"
mkdir -p "$copy_dir"
if [ ! -x "$copy" ] || [ "$program" -nt "$copy" ]; then
    # a temporary of this process's own: the tests of one binary make their copies at once
    partial="$copy.$$.tmp"
    cp "$program" "$partial"
    # DT_RPATH (not RUNPATH): it also serves the libraries the driver loads, so nothing of the
    # machine's older glibc or libstdc++ is mixed in
    patchelf --set-interpreter "$libs/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libs" "$partial"
    mv -f "$partial" "$copy"
fi
if $prepare_only; then
    echo "$copy"
    exit 0
fi
export VK_ICD_FILENAMES="$root/lvp_icd.json"
export VK_DRIVER_FILES="$root/lvp_icd.json"
export VPBENCH_NEWER_LAVAPIPE="$root"
exec "$copy" "$@"
