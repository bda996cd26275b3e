#!/usr/bin/env bash
# A newer Mesa lavapipe (a Vulkan driver that runs on the CPU) in a private folder, for the
# CubeCL kernels that bookworm's lavapipe cannot compile: its shader compiler crashes on
# CubeCL's matrix product (benchmarks/lavapipe-matmul-crash.md), so CMS-LSTM, MS-CMS-LSTM and
# Earthformer never ran on Vulkan with it. Mesa 26.1 (Debian trixie-backports, on LLVM 19)
# compiles it.
#
# The packages come from Debian's archive through a private apt configuration (the machine's
# sources, package state and lavapipe are not touched) and are unpacked, with the glibc and
# libstdc++ they were built against, into one folder. `scripts/on-newer-lavapipe.sh` runs a
# program against them. Idempotent; needs no root.
#
#   bash scripts/install-newer-lavapipe.sh      # prints the folder
set -euo pipefail
suite=trixie-backports
# the tested version; where the archive has moved on, the newest of the suite is taken and
# named (records and the device line name the Mesa version that ran)
pinned=26.1.6-1~bpo13+1
root=${VPBENCH_MESA_ROOT:-${XDG_DATA_HOME:-$HOME/.local/share}/vpbench/mesa-lavapipe}
if [ -f "$root/.installed" ]; then
    echo "$root"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
touch "$work/status"
cat >"$work/sources.list" <<SOURCES
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SOURCES
apt_options=(
    -o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
    -o "Dir::State::status=$work/status" -o "Debug::NoLocking=1" -o "APT::Architecture=amd64" -o "APT::Sandbox::User=root"
)
echo "newer lavapipe: reading Debian $suite's package lists" >&2
apt-get "${apt_options[@]}" update -qq
version=$pinned
if ! apt-cache "${apt_options[@]}" show "mesa-vulkan-drivers=$pinned" >/dev/null 2>&1; then
    version=$(apt-cache "${apt_options[@]}" policy mesa-vulkan-drivers | awk '/bpo13/ {print $1; exit}')
    [ -n "$version" ] || { echo "error: Debian $suite has no mesa-vulkan-drivers" >&2; exit 1; }
    echo "newer lavapipe: the tested Mesa $pinned is gone from Debian's archive; taking $version" >&2
fi
echo "newer lavapipe: downloading Mesa $version and what it links (about 60 MB)" >&2
apt-get "${apt_options[@]}" install -y -qq --download-only \
    "mesa-vulkan-drivers=$version" libvulkan1 libc6 >/dev/null
staging="$root.partial"
rm -rf "$staging"
mkdir -p "$staging"
for deb in "$work"/cache/archives/*.deb; do
    dpkg-deb -x "$deb" "$staging"
done
libs="$staging/usr/lib/x86_64-linux-gnu"
[ -f "$libs/libvulkan_lvp.so" ] || { echo "error: $libs/libvulkan_lvp.so missing after unpacking" >&2; exit 1; }
final_libs="$root/usr/lib/x86_64-linux-gnu"
cat >"$staging/lvp_icd.json" <<ICD
{ "file_format_version": "1.0.1",
  "ICD": { "library_path": "$final_libs/libvulkan_lvp.so", "api_version": "1.4.0" } }
ICD
echo "$version" >"$staging/mesa-version"
rm -rf "$root"
mv "$staging" "$root"
touch "$root/.installed"
echo "newer lavapipe: Mesa $version in $root" >&2
echo "$root"
