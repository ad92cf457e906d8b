#!/usr/bin/env bash
# jishengpeng/Languagecodec is GitHub-only and its setup.py (a copy of vocos') does not build, so pip cannot
# install it: unpack the pinned commit into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source jishengpeng Languagecodec f10ffa6e62011a323edb90176496aa4764a5eece
# PyPI's torchaudio is a CUDA build: make it importable on CPU torch.
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
