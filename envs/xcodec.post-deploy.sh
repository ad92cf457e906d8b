#!/usr/bin/env bash
# zhenye234/xcodec is a training repository without setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source zhenye234 xcodec a2e52d30b1ea424f76bb6b88357484d8021f3ab3
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
