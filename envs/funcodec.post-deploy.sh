#!/usr/bin/env bash
# funcodec's declared requirements do not resolve (see envs/funcodec.yaml): install the package alone; the env file
# already holds what its codec inference imports.
set -euo pipefail
python -m pip install --no-deps funcodec==0.2.0
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
