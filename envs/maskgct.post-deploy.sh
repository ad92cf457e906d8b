#!/usr/bin/env bash
# open-mmlab/Amphion is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit (the one
# envs/facodec.post-deploy.sh uses) into the env and put it on the env's import path (offline from
# $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source open-mmlab Amphion d3de90f02e7f1c7dbc24b04d52fe1b8ef438effe
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
