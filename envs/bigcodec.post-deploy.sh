#!/usr/bin/env bash
# Aria-K-Alethia/BigCodec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source Aria-K-Alethia BigCodec 09845ab1f5bc7a3d1589c16de820ef15bc2afefe
