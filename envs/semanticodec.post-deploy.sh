#!/usr/bin/env bash
# PyPI's torchaudio and torchvision (timm's, for AudioMAE) are CUDA builds: make them importable on CPU torch.
set -euo pipefail
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu
python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchvision-cpu
