#!/usr/bin/env bash
# y-ren16/TiCodec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path.
set -euo pipefail
python - <<'PY'
import io, pathlib, site, sys, tarfile, urllib.request
owner, repo, commit = "y-ren16", "TiCodec", "13af0ebad99f01ebbe25ce449b7e33eebc56672e"
dest = pathlib.Path(sys.prefix, "src", f"{repo}-{commit}")
if not dest.is_dir():
    with urllib.request.urlopen(f"https://codeload.github.com/{owner}/{repo}/tar.gz/{commit}") as response:
        tarfile.open(fileobj=io.BytesIO(response.read()), mode="r:gz").extractall(dest.parent, filter="data")
pathlib.Path(site.getsitepackages()[0], f"{repo}.pth").write_text(f"{dest}\n")
PY
