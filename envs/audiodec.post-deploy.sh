#!/usr/bin/env bash
# facebookresearch/AudioDec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source facebookresearch AudioDec e451e62580a66fe74426db51d92a6d0d468b70b3
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
