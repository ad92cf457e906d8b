"""The one atomic writer: umask honoured, no `.part` left after an exception, SIGTERM or kill -9, full disk named."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codecfake.audio import write_atomic
from codecfake.tables import (
    DiskFullError,
    atomic_output,
    write_text_atomic,
    write_tsv_atomic,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_outputs_honour_the_umask(tmp_path, umask_022):
    write_tsv_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.tsv")
    write_text_atomic("x\n", tmp_path / "t.txt")
    write_atomic(tmp_path / "a.wav", np.zeros(160, np.float32), 16000)
    for name in ("t.tsv", "t.txt", "a.wav"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
    os.umask(0o027)
    write_text_atomic("x\n", tmp_path / "g.txt")
    assert (tmp_path / "g.txt").stat().st_mode & 0o777 == 0o640


def test_exception_leaves_no_part_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_stale_part_from_kill_9_is_removed_on_rewrite(tmp_path):
    stale = tmp_path / ".t.tsv.12345-deadbeef.part"
    stale.write_bytes(b"")
    others = [tmp_path / ".other.tsv.1-00000000.part", tmp_path / ".t.tsv.gz.1-00000000.part"]
    for other in others:  # other outputs' temp files (`t.tsv.gz` is another output) are not touched
        other.write_bytes(b"")
    write_tsv_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.tsv")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(o.name for o in others), "t.tsv"])


def test_sigterm_mid_write_leaves_no_part(tmp_path):
    target = tmp_path / "t.txt"
    script = (
        "import sys, time\n"
        "from codecfake.errors import exit_on_sigterm\n"
        "from codecfake.tables import atomic_output\n"
        "exit_on_sigterm()\n"
        f"with atomic_output({str(target)!r}) as tmp:\n"
        "    tmp.write_text('partial')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert any(p.suffix == ".part" for p in tmp_path.iterdir())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_full_disk_is_named(tmp_path):
    """A real ENOSPC (writing to /dev/full) inside the writer becomes a message naming the output."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with pytest.raises(DiskFullError, match=r"no space left .* writing t\.tsv"), atomic_output(tmp_path / "t.tsv"):
        pd.DataFrame({"a": range(100_000)}).to_csv("/dev/full", sep="\t")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 64 KiB tmpfs (needs root and mount rights; skipped elsewhere): a real full disk for soundfile."""
    folder = tmp_path / "full"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]
    if os.geteuid() != 0 or subprocess.run(mount, check=False, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_full_disk_while_writing_audio_is_named(tiny_filesystem, fmt):
    """soundfile says only "System error." on ENOSPC; the writer names the disk and the file instead."""
    audio = np.random.default_rng(0).uniform(-1, 1, 160_000).astype(np.float32)
    with pytest.raises(DiskFullError, match=rf"no space left .* writing x\.{fmt}"):
        write_atomic(tiny_filesystem / f"x.{fmt}", audio, 16000, fmt)
    assert list(tiny_filesystem.iterdir()) == []
