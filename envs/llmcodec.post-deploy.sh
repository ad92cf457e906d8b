#!/usr/bin/env bash
# yangdongchao/LLM-Codec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source yangdongchao LLM-Codec b1629288a64c7b1f7776858625b37e6409ac41fa
