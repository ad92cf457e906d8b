#!/usr/bin/env python3
"""The steps of the `envs/<name>.post-deploy.sh` scripts, run by the env's own interpreter (stdlib only).

Snakemake runs `envs/<name>.post-deploy.sh` after creating the env of `envs/<name>.yaml`. Those scripts are written
from the registry entries and the env file when the workflow is parsed (codecfake/post_deploy_scripts.py), one line
per step, each a call of this file:

  python envs/post_deploy.py source OWNER REPO COMMIT   unpack github.com/OWNER/REPO at COMMIT into <env>/src and
                                                        put it on the env's import path (an entry's `upstream:`)
  python envs/post_deploy.py no-deps NAME==VERSION      pip-install a package without its declared requirements
                                                        (an entry's `pip_no_deps:`)
  python envs/post_deploy.py torchaudio-cpu             make PyPI's CUDA torchaudio wheel importable on CPU torch
                                                        (an env file that pins torchaudio)
  python envs/post_deploy.py torchvision-cpu            make PyPI's CUDA torchvision wheel importable on CPU torch
                                                        (an env file that pins torchvision)

Sources come from GitHub, or, where $CODECFAKE_UPSTREAM_MIRROR names a folder (e.g. ../shared/upstream), from the
tarball of the same layout there: `<owner>-<repo>-<commit>.tar.gz` holding one top folder `<repo>-<commit>/`. That
is how envs build without reaching GitHub. Either way the archive must be that commit's (its only top folder is
`<repo>-<commit>/`), or nothing is installed. tests/harness/conda rewrites `name @ git+https://github.com/...@commit`
pip lines to the same mirrored tarball through `mirrored_tarball`.
"""
from __future__ import annotations

import importlib.util
import io
import os
import re
import site
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

MIRROR_VARIABLE = "CODECFAKE_UPSTREAM_MIRROR"


def mirror() -> Path | None:
    """The configured mirror folder, or None (then sources come from GitHub)."""
    folder = os.environ.get(MIRROR_VARIABLE)
    return Path(folder).resolve() if folder else None


def mirrored_tarball(owner: str, repo: str, commit: str) -> Path:
    """The mirror's tarball of OWNER/REPO at COMMIT, checked to hold that commit; an error if it is not there."""
    folder = mirror()
    if folder is None:
        raise SystemExit(f"{MIRROR_VARIABLE} is not set")
    path = folder / f"{owner}-{repo}-{commit}.tar.gz"
    if not path.is_file():
        raise SystemExit(f"{owner}/{repo}@{commit}: no {path.name} in the mirror {folder}")
    with tarfile.open(path, mode="r:gz") as archive:
        check_top_folder(archive, repo, commit, str(path))
    return path


def check_top_folder(archive: tarfile.TarFile, repo: str, commit: str, origin: str) -> None:
    """GitHub's tarball of a commit holds exactly one folder, `<repo>-<commit>/`: anything else is another commit."""
    tops = {member.name.split("/", 1)[0] for member in archive.getmembers()}
    if tops != {f"{repo}-{commit}"}:
        raise SystemExit(f"{origin} is not {repo} at {commit}: its top folders are {sorted(tops)}")


def _tarball_bytes(owner: str, repo: str, commit: str) -> bytes:
    if mirror() is not None:
        return mirrored_tarball(owner, repo, commit).read_bytes()
    with urllib.request.urlopen(f"https://codeload.github.com/{owner}/{repo}/tar.gz/{commit}") as response:
        return response.read()


def install_source(owner: str, repo: str, commit: str) -> Path:
    """Unpack the pinned commit into <env>/src/<repo>-<commit> (once) and add it to the env's import path."""
    if len(commit) != 40 or not all(c in "0123456789abcdef" for c in commit):
        raise SystemExit(f"{owner}/{repo}: {commit!r} is not a full commit id")
    dest = Path(sys.prefix, "src", f"{repo}-{commit}")
    if not dest.is_dir():
        with tarfile.open(fileobj=io.BytesIO(_tarball_bytes(owner, repo, commit)), mode="r:gz") as archive:
            check_top_folder(archive, repo, commit, f"{owner}/{repo}")
            archive.extractall(dest.parent, filter="data")
    Path(site.getsitepackages()[0], f"{repo}.pth").write_text(f"{dest}\n")
    return dest


def install_without_requirements(requirement: str) -> None:
    """pip-install one package alone: its declared requirements do not resolve, and the env file pins what it uses."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", requirement], check=True)


def torchaudio_cpu() -> None:
    """PyPI's torchaudio is a CUDA build tied to one torch release. Where its C++ extension cannot load, removing
    it leaves the pure-Python resampling and spectrogram code the codec packages use."""
    if _imports("torchaudio"):
        return
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or spec.origin is None:
        raise SystemExit("torchaudio is not installed in this env")
    for library in Path(spec.origin).parent.glob("lib/*.so"):
        library.unlink()


#: torchvision's fake-tensor registrations its `_meta_registrations` makes even when its C++ ops did not load.
UNGUARDED_FAKE = re.compile(r'@torch\.library\.register_fake\(("torchvision::\w+")\)')


def torchvision_cpu() -> None:
    """PyPI's torchvision is a CUDA build: on CPU torch its C++ ops (nms, roi_align, ...) cannot load, which it
    tolerates except for two fake-tensor registrations that then fail at import. Guard those two the way torchvision
    guards the others (`if extension._has_ops()`), so the pure-Python parts (models, transforms) import."""
    if _imports("torchvision"):
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        raise SystemExit("torchvision is not installed in this env")
    meta = Path(spec.origin).parent / "_meta_registrations.py"
    text = meta.read_text()
    if not UNGUARDED_FAKE.search(text):
        raise SystemExit(f"torchvision does not import and {meta} is not the known cause")
    meta.write_text(guard_fake_registrations(text))
    if not _imports("torchvision"):
        raise SystemExit("torchvision still does not import on this torch")


def guard_fake_registrations(text: str) -> str:
    """`@torch.library.register_fake("torchvision::op")` -> the same, only where torchvision's ops loaded."""
    return UNGUARDED_FAKE.sub(
        r"@(torch.library.register_fake(\1) if torchvision.extension._has_ops() else (lambda function: function))",
        text)


def _imports(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, check=False).returncode == 0


def main(argv: list[str]) -> None:
    if argv[:1] == ["source"] and len(argv) == 4:
        print(f"post-deploy: {argv[1]}/{argv[2]}@{argv[3]} -> {install_source(*argv[1:])}")
    elif argv[:1] == ["no-deps"] and len(argv) == 2:
        install_without_requirements(argv[1])
    elif argv == ["torchaudio-cpu"]:
        torchaudio_cpu()
    elif argv == ["torchvision-cpu"]:
        torchvision_cpu()
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
