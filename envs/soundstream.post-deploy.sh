#!/usr/bin/env bash
# yangdongchao/AcademiCodec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# (the one envs/hificodec.post-deploy.sh pins) into the env and put it on the env's import path
# (offline from $CODECFAKE_UPSTREAM_MIRROR where it is set).
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source yangdongchao AcademiCodec b6ac134735f6079543db959a60eb77a7bab4277b
