#!/usr/bin/env bash
# y-ren16/TiCodec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source y-ren16 TiCodec 13af0ebad99f01ebbe25ce449b7e33eebc56672e
