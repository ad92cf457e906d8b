#!/usr/bin/env bash
# yangdongchao/LLM-Codec is GitHub-only and has no setup.py, so pip cannot install it: unpack the pinned commit
# into the env and put it on the env's import path.
set -euo pipefail
python - <<'PY'
import io, pathlib, site, sys, tarfile, urllib.request
owner, repo, commit = "yangdongchao", "LLM-Codec", "b1629288a64c7b1f7776858625b37e6409ac41fa"
dest = pathlib.Path(sys.prefix, "src", f"{repo}-{commit}")
if not dest.is_dir():
    with urllib.request.urlopen(f"https://codeload.github.com/{owner}/{repo}/tar.gz/{commit}") as response:
        tarfile.open(fileobj=io.BytesIO(response.read()), mode="r:gz").extractall(dest.parent, filter="data")
pathlib.Path(site.getsitepackages()[0], f"{repo}.pth").write_text(f"{dest}\n")
PY
