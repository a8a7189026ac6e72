#!/usr/bin/env bash
# Creates .venv-tools with the pinned independent references (numpy, gguf, Pillow...) used by the
# tools/gen_*_fixtures.py scripts. Only needed to regenerate fixtures; tests use the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-tools
.venv-tools/bin/pip install -q -r tools/requirements-fixtures.txt
echo "fixture env ready: .venv-tools/bin/python tools/gen_<name>_fixtures.py"
