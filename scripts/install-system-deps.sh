#!/usr/bin/env bash
# The system packages vpbench's tests need beyond crates: a real Vulkan driver that runs on the
# CPU (Mesa's lavapipe) and the Vulkan loader, so that burn's GPU kernels (the CubeCL code that
# CUDA and every GPU run too) execute in the tests of a machine without a GPU; and pdflatex
# (texlive-latex-base), so that a test compiles the LaTeX tables the reports write; and
# Chromium, in which a test opens the HTML report headless; and Fashion-MNIST's files, the
# other dataset of the generalisation evaluation; and patchelf, with which the Vulkan tests run
# on a newer lavapipe (scripts/install-newer-lavapipe.sh, installed last).
# Debian/Ubuntu; idempotent; as root or through sudo.
set -euo pipefail
packages=(libvulkan1 mesa-vulkan-drivers patchelf texlive-latex-base chromium dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing ${missing[*]} (apt)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    echo "error: lavapipe's Vulkan ICD (/usr/share/vulkan/icd.d/lvp_icd.*.json) is missing after installing mesa-vulkan-drivers" >&2
    exit 1
fi
echo "system packages: ${packages[*]} present (lavapipe: $(ls /usr/share/vulkan/icd.d/lvp_icd*.json | head -1))"
# Mesa 26's lavapipe in a private folder, on which the Vulkan tests run (bookworm's crashes on
# CubeCL's matrix product); patchelf above is what runs programs against it
echo "Mesa 26 lavapipe: $(bash "$(dirname "$0")/install-newer-lavapipe.sh")"
