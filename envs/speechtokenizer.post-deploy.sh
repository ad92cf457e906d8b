#!/usr/bin/env bash
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
set -euo pipefail
python "$(dirname "$0")/post_deploy.py" torchaudio-cpu
