#!/bin/sh
# Fetches, on this (Debian 12, amd64) machine, the .deb files of the libraries hatch links that a bare
# GPU machine may lack (cJSON, TurboJPEG, libv4l2, libyaml, libpng, pkgconf; zlib1g-dev only for the
# zlib.pc that libpng's requires) into .device/debs (ignored by git). tools/gpu-check.sh unpacks them
# under /tmp/hatch-deps there, never into /, when that machine's pkg-config does not find the
# libraries itself. About 3 MB. The libraries need glibc >= 2.34 there (Ubuntu 22.04 or newer).
#
# Usage: tools/device-deps.sh        then carry ".device" to the GPU machine with the working tree.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/.device/debs
mkdir -p "$out"
cd "$out"
rm -f ./*.deb # one version of each: an older one could be unpacked over a newer one
# apt-get download writes into the current folder; the _apt user must be able to write there.
chmod 0777 "$out"
trap 'chmod 0755 "$out"' EXIT
apt-get download \
  libcjson1 libcjson-dev libturbojpeg0 libturbojpeg0-dev libjpeg62-turbo libv4l-0 libv4l-dev libv4lconvert0 \
  libyaml-0-2 libyaml-dev libpng16-16 libpng-dev zlib1g-dev pkgconf pkgconf-bin libpkgconf3
ls -l "$out"
