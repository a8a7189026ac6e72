#!/usr/bin/env bash
# Installs the Debian 12 packages hatch needs to build, run and test.
# Usage: tools/install-deps.sh            (build + runtime + tests)
# Idempotent: packages already present are skipped; needs root or sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3
  libvulkan-dev mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
  glslang-tools spirv-tools
  libturbojpeg0-dev libv4l-dev v4l-utils libcjson-dev libyaml-dev libpng-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
