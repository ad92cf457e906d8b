#!/usr/bin/env bash
# yangdongchao/SimpleSpeech is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source yangdongchao SimpleSpeech 6b95cf056ab6476390ded04b720ded3a2ba3e8e0
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
