#!/usr/bin/env bash
# PyPI's torchaudio and torchvision (timm's, for AudioMAE) are CUDA builds: make them importable on CPU torch.
set -euo pipefail
python "$(dirname "$0")/post_deploy.py" torchaudio-cpu
python "$(dirname "$0")/post_deploy.py" torchvision-cpu
