#!/bin/sh
# Issue 6's checks on a machine with an NVIDIA GPU and the CUDA toolkit (the device machine): builds
# the CUDA trainer in build-gpu and writes every output to DIR, one file per check:
#   build       configure.txt, build.txt (Release, CUDA on, Vulkan off, sm_90 unless CUDA_ARCH is set)
#   parity      nvidia-smi.txt; cuda-ops.txt (tests/train/test_train_cuda_ops: every op against the CPU
#               reference); cuda-model.txt (test_train_cuda_model: the whole model's logits, loss and
#               every gradient, fp32 and bf16, and 8 optimizer steps of the trainer against the CPU,
#               then GRPO on the device); cuda-ranks.txt (2 NCCL ranks against 1: skips, exit 77,
#               with fewer than two GPUs)
#   bench       bench-*.txt / .json: hatch-train bench (tokens/s and model FLOP utilization against the
#               GEMM peak measured in the same run) for the small preset (fp32, bf16) and the 3B shape
#               (bf16, 448 px views; BENCH_3B_BATCH samples a step, 4 unless set)
# Usage: tools/gpu-check.sh DIR [build|parity|bench|all]...   (default: all; on the device tool, whose
# commands stop at 10 minutes, run build + parity, then bench). Each step's exit status is in
# DIR/status.txt; the script's own is non-zero when any step failed or skipped (77: no usable GPU),
# except the ranks test, which skips on a machine with one GPU.
#
# Libraries: the machine's own when its pkg-config finds them; else the .deb files of
# tools/device-deps.sh (.device/debs, carried with the working tree), unpacked under /tmp/hatch-deps.
# NCCL: the system's, else the one of Python's nvidia-nccl wheel when present.
set -u
dir=${1:?usage: tools/gpu-check.sh DIR [build|parity|bench|all]...}
shift
steps=${*:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$root" || exit 2
build=build-gpu
failed=0

record() { # step status; a skip (77) is a failure except for the ranks test on a one-GPU machine
  echo "$1 $2" >>"$dir/status.txt"
  echo "== $1: exit $2"
  [ "$2" = 0 ] || { [ "$2" = 77 ] && [ "$1" = cuda-ranks ]; } || failed=1
}
: >"$dir/status.txt"
[ -x /usr/local/cuda/bin/nvcc ] && PATH=/usr/local/cuda/bin:$PATH

wants() { case " $steps " in *" $1 "* | *" all "*) return 0 ;; esac; return 1; }

pc_args=""
# HATCH_DEPS=debs uses the .deb files even where the machine has the libraries (to test them).
if [ "${HATCH_DEPS:-}" = debs ] || ! pkg-config --exists libcjson libturbojpeg libv4l2 yaml-0.1 libpng 2>/dev/null; then
  if [ ! -d .device/debs ]; then
    echo "the libraries are missing here and .device/debs is absent: run tools/device-deps.sh on the build machine and carry .device" >&2
    exit 2
  fi
  deps=/tmp/hatch-deps
  mkdir -p "$deps"
  for f in .device/debs/*.deb; do dpkg -x "$f" "$deps" || exit 2; done
  lib=$deps/usr/lib/x86_64-linux-gnu
  export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$deps/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$deps"
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  command -v pkg-config >/dev/null || pc_args="-DPKG_CONFIG_EXECUTABLE=$deps/usr/bin/pkgconf"
  echo "libraries from .device/debs under $deps"
fi

nccl_args=""
if [ ! -f /usr/include/nccl.h ] && [ ! -f /usr/local/cuda/include/nccl.h ]; then
  nccl=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null ||
    python3 -c 'import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)
  if [ -n "$nccl" ] && [ -f "$nccl/include/nccl.h" ]; then
    so=$(ls "$nccl"/lib/libnccl.so* 2>/dev/null | head -n 1)
    nccl_args="-DHATCH_NCCL_INCLUDE_DIR=$nccl/include -DHATCH_NCCL_LIBRARY=$so"
    export LD_LIBRARY_PATH="$nccl/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "NCCL from $nccl"
  fi
fi

if wants build; then
  generator=""
  command -v ninja >/dev/null && generator="-G Ninja"
  # shellcheck disable=SC2086
  cmake -S . -B "$build" $generator -DCMAKE_BUILD_TYPE=Release -DHATCH_CUDA=ON -DHATCH_VULKAN=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" $pc_args $nccl_args >"$dir/configure.txt" 2>&1
  st=$?
  if [ $st = 0 ]; then
    cmake --build "$build" --target test_train_cuda_ops test_train_cuda_model hatch_train_cli -j "$(nproc)" >"$dir/build.txt" 2>&1
    st=$?
  fi
  record build $st
  [ $st = 0 ] || { tail -n 30 "$dir/configure.txt" "$dir/build.txt" 2>/dev/null; exit 1; }
fi

if wants parity; then
  nvidia-smi >"$dir/nvidia-smi.txt" 2>&1
  "$build/tests/test_train_cuda_ops" >"$dir/cuda-ops.txt" 2>&1
  record cuda-ops $?
  "$build/tests/test_train_cuda_model" >"$dir/cuda-model.txt" 2>&1
  record cuda-model $?
  "$build/tests/test_train_cuda_model" ranks >"$dir/cuda-ranks.txt" 2>&1
  record cuda-ranks $?
  tail -n 4 "$dir/cuda-ops.txt" "$dir/cuda-model.txt" "$dir/cuda-ranks.txt"
fi

if wants bench; then
  tok=bench/experiment/with-base/tokenizer.json
  for run in "small fp32 --preset small --image-size 112 --batch 8" \
    "small bf16 --preset small --image-size 112 --batch 8 --bf16" \
    "3b bf16 --preset 3b --image-size 448 --batch ${BENCH_3B_BATCH:-4} --bf16"; do
    set -- $run
    name=bench-$1-cuda-$2
    shift 2
    "$build/hatch-train" bench --tokenizer $tok --device cuda "$@" --json "$dir/$name.json" >"$dir/$name.txt" 2>&1
    record "$name" $?
    cat "$dir/$name.txt"
  done
fi

exit $failed
