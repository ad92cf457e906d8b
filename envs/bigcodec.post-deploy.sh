#!/usr/bin/env bash
# Aria-K-Alethia/BigCodec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path.
set -euo pipefail
python - <<'PY'
import io, pathlib, site, sys, tarfile, urllib.request
owner, repo, commit = "Aria-K-Alethia", "BigCodec", "09845ab1f5bc7a3d1589c16de820ef15bc2afefe"
dest = pathlib.Path(sys.prefix, "src", f"{repo}-{commit}")
if not dest.is_dir():
    with urllib.request.urlopen(f"https://codeload.github.com/{owner}/{repo}/tar.gz/{commit}") as response:
        tarfile.open(fileobj=io.BytesIO(response.read()), mode="r:gz").extractall(dest.parent, filter="data")
pathlib.Path(site.getsitepackages()[0], f"{repo}.pth").write_text(f"{dest}\n")
PY
