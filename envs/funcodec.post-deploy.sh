#!/usr/bin/env bash
# funcodec's declared requirements do not resolve (see envs/funcodec.yaml): install the package alone; the env file
# already holds what its codec inference imports.
set -euo pipefail
python -m pip install --no-deps funcodec==0.2.0
# PyPI's torchaudio is a CUDA build tied to one torch release. Where its C++ extension cannot load, removing it
# leaves the pure-Python resampling and spectrogram code the codec packages use.
python -c "import torchaudio" 2>/dev/null || rm -f "$(python -c 'import os, importlib.util as u; print(os.path.dirname(u.find_spec("torchaudio").origin))')"/lib/*.so
