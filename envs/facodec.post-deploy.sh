#!/usr/bin/env bash
# open-mmlab/Amphion is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path.
set -euo pipefail
python - <<'PY'
import io, pathlib, site, sys, tarfile, urllib.request
owner, repo, commit = "open-mmlab", "Amphion", "d3de90f02e7f1c7dbc24b04d52fe1b8ef438effe"
dest = pathlib.Path(sys.prefix, "src", f"{repo}-{commit}")
if not dest.is_dir():
    with urllib.request.urlopen(f"https://codeload.github.com/{owner}/{repo}/tar.gz/{commit}") as response:
        tarfile.open(fileobj=io.BytesIO(response.read()), mode="r:gz").extractall(dest.parent, filter="data")
pathlib.Path(site.getsitepackages()[0], f"{repo}.pth").write_text(f"{dest}\n")
PY
# PyPI's torchaudio is a CUDA build tied to one torch release. Where its C++ extension cannot load, removing it
# leaves the pure-Python resampling and spectrogram code the codec packages use.
python -c "import torchaudio" 2>/dev/null || rm -f "$(python -c 'import os, importlib.util as u; print(os.path.dirname(u.find_spec("torchaudio").origin))')"/lib/*.so
