#!/usr/bin/env bash
# Creates .venv-model: torch + transformers, the independent reference that
# tools/gen_qwen25vl_fixtures.py runs to (re)generate tests/fixtures/qwen25vl/. Tests never need it.
#
# Works from PyPI alone (fresh Debian 12, python3 >= 3.11 with venv). PyPI has no CPU-only torch wheel for
# Linux x86_64 (those live on download.pytorch.org, which we do not assume reachable), and a plain
# `pip install torch` pulls every nvidia-* wheel torch pins plus triton: about 3.0 GB. Instead the whole
# environment is a lock file installed with --no-deps: torch plus only the CUDA runtime wheels its shared
# objects link against (ELF DT_NEEDED; without them `import torch` fails even on CPU), about 2.4 GB of
# downloads. Nothing here uses a GPU. The last step proves the result imports and computes on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 11), "need Python >= 3.11 (torch 2.15 wheels)"'
"$PY" -m venv .venv-model
.venv-model/bin/pip install -q --no-deps --only-binary=:all: -r tools/requirements-model-fixtures.txt
.venv-model/bin/python - <<'PY'
import torch, transformers, safetensors, tokenizers, numpy, PIL
x = torch.randn(8, 8, dtype=torch.float64)
assert torch.allclose(x @ torch.linalg.inv(x), torch.eye(8, dtype=torch.float64), atol=1e-8)
from transformers import Qwen2_5_VLForConditionalGeneration  # noqa: F401  (the model code imports)
print("torch", torch.__version__, "transformers", transformers.__version__, "cpu ok")
PY
echo "model fixture env ready: .venv-model/bin/python tools/gen_qwen25vl_fixtures.py"
