#!/usr/bin/env bash
# jishengpeng/WavTokenizer is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source jishengpeng WavTokenizer 5cf440d91ac420ca338f117b7003a77450d64730
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
