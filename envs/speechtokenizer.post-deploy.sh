#!/usr/bin/env bash
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
