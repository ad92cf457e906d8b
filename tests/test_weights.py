"""Checkpoint sources: verified downloads with resume, the lock, refusal of wrong or unverified bytes for every
configuration, safe loading, and a clear, fast failure when a checkpoint was not fetched."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from codec_wrappers._checkpoints import checkpoint_loads, is_verified, mark_verified
from codecfake import codec_loading, registry, weights
from codecfake.download import ChecksumMismatch, download
from codecfake.errors import UserError
from codecfake.weights import WeightsUnavailable

PAYLOAD = bytes(range(256)) * 4096


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves the server's payload with HTTP Range support, as release hosts do."""

    def do_GET(self):
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if "Range" in self.headers else 0
        body = self.server.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def serving(payload: bytes):
    """A loopback HTTP server for `payload`; yields its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory="/nonexistent"))
    httpd.payload = payload
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/file"
    finally:
        httpd.shutdown()


@pytest.fixture
def server():
    with serving(PAYLOAD) as url:
        yield url


def test_download_resumes_and_verifies(tmp_path, server):
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    dest = tmp_path / "w" / "model.bin"
    dest.parent.mkdir()
    (dest.parent / "model.bin.part").write_bytes(PAYLOAD[:1000])  # an interrupted earlier transfer
    download(server, dest, sha256=digest, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and not (dest.parent / "model.bin.part").exists()
    download(server, dest, sha256=digest[:8])  # present: verified, not fetched again


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, server):
    dest = tmp_path / "model.bin"
    with pytest.raises(ChecksumMismatch):
        download(server, dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_pretrained_fails_fast_and_clearly_when_not_fetched(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("loading attempted a download")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_network)
    monkeypatch.delenv("HF_HUB_OFFLINE")  # even online, loading never downloads: fetch_weights does
    entry = _with(registry.get("Encodec_6b24k"), lambda spec: spec)
    with pytest.raises(WeightsUnavailable, match=r"Encodec_6b24k: checkpoint 'model' .* not at .*fetch_weights"):
        weights.ensure_all(entry, tmp_path)


def test_unpinned_hub_revision_and_unverifiable_source_are_refused(tmp_path):
    entry = registry.get("snac_24khz")
    branch = _with(entry, lambda spec: {**{k: v for k, v in spec.items() if k != "lock"}, "revision": "main",
                                        "sha256": "0" * 64})
    with pytest.raises(WeightsUnavailable, match="not a pinned 40-hex commit"):
        weights.ensure_all(branch, tmp_path)
    neither = _with(entry, lambda spec: {key: value for key, value in spec.items() if key not in ("sha256", "lock")})
    with pytest.raises(WeightsUnavailable, match="neither `sha256` nor `lock: true`"):
        weights.ensure_all(neither, tmp_path)


# -- verification of files already in weights_dir, for every registered configuration -----------------------------
REVISION = "0123456789abcdef0123456789abcdef01234567"
RIGHT, WRONG = b"the released checkpoint bytes", b"a different file under the same name"


def _with(entry, change):
    """The entry with each checkpoint source passed through `change` (a pinned commit where the registry has none
    yet), so every family's real file names and folder layout are tested."""
    def pinned(spec):
        return {**spec, "revision": REVISION} if "hub" in spec and not weights.COMMIT.match(spec["revision"]) else spec

    return dataclasses.replace(entry, weights={key: change(pinned(spec)) for key, spec in entry.weights.items()})


def _place(entry, weights_dir, payload: bytes) -> list:
    paths = []
    for spec in entry.weights.values():
        path = weights.local_path(entry, spec, weights_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        paths.append(path)
    return paths


def _lock(entry, weights_dir, payload: bytes) -> None:
    table = {str(weights.local_path(entry, spec, weights_dir).relative_to(weights_dir)):
             {"source": weights.source(spec), "commit": spec.get("revision"),
              "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)} for spec in entry.weights.values()}
    (weights_dir / weights.LOCK_FILE).write_text(json.dumps(table))


def _sha256_pinned(spec):
    return {**{k: v for k, v in spec.items() if k != "lock"}, "sha256": hashlib.sha256(RIGHT).hexdigest()}


def _locked(spec):
    return {**{k: v for k, v in spec.items() if k != "sha256"}, "lock": True}


ENTRIES = sorted(registry.codecs())


@pytest.mark.parametrize("name", ENTRIES)
def test_wrong_bytes_under_the_right_name_are_refused_and_deleted(tmp_path, name):
    """Every configuration's files, verified by sha256 and by the lock: wrong bytes never load."""
    entry = registry.get(name)
    paths = _place(entry, tmp_path, WRONG)  # as registered: its sha256 refuses them, or (lock: true) no lock record
    with pytest.raises((ChecksumMismatch, WeightsUnavailable), match="does not match|bytes, expected|unverified"):
        weights.ensure_all(entry, tmp_path)
    for path in paths:
        path.unlink(missing_ok=True)

    by_sha = _with(entry, _sha256_pinned)
    paths = _place(by_sha, tmp_path, WRONG)
    with pytest.raises(ChecksumMismatch, match="does not match"):
        weights.ensure_all(by_sha, tmp_path)
    assert not paths[0].exists()  # one checksum policy: a bad file is deleted

    by_lock = _with(entry, _locked)
    paths = _place(by_lock, tmp_path, WRONG)
    with pytest.raises(WeightsUnavailable, match="unverified: its registry entry says `lock: true`"):
        weights.ensure_all(by_lock, tmp_path)  # no lock file: present is not verified
    _lock(by_lock, tmp_path, RIGHT)
    with pytest.raises(ChecksumMismatch, match="does not match|bytes, expected"):
        weights.ensure_all(by_lock, tmp_path)  # the lock records other bytes
    assert not paths[0].exists()


@pytest.mark.parametrize("name", ENTRIES)
def test_the_right_bytes_are_verified_and_trusted(tmp_path, name):
    entry = registry.get(name)
    for variant in (_with(entry, _sha256_pinned), _with(entry, _locked)):
        _place(variant, tmp_path, RIGHT)
        _lock(variant, tmp_path, RIGHT)
        files = weights.ensure_all(variant, tmp_path)
        assert set(files) == set(entry.weights) and all(is_verified(path) for path in files.values())


def test_a_sha256_entry_is_also_held_to_its_lock_record(tmp_path):
    entry = _with(registry.get("Encodec_6b24k"), lambda spec: {**spec, "sha256": hashlib.sha256(RIGHT).hexdigest()[:8]})
    _place(entry, tmp_path, RIGHT)
    _lock(entry, tmp_path, WRONG)
    with pytest.raises(ChecksumMismatch, match="differs from the one locked"):
        weights.ensure_all(entry, tmp_path)


def test_registry_checkpoints_load_only_verified(tmp_path):
    """The pipeline's loader refuses a wrong file before any wrapper code runs; a wrapper refuses unverified paths."""
    with pytest.raises(UserError):
        codec_loading.load("Encodec_6b24k", weights="pretrained", weights_dir=tmp_path)
    unverified = tmp_path / "model.th"
    unverified.write_bytes(RIGHT)
    with pytest.raises(PermissionError, match="not verified"):
        codec_loading.create("Encodec_6b24k").load(files={"model": unverified})


# -- fetch: download, lock, refuse a changed file ---------------------------------------------------------------
def test_fetch_locks_a_download_and_refuses_changed_bytes_later(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with serving(PAYLOAD) as url:
        entry = dataclasses.replace(registry.get("Encodec_6b24k"), weights={"model": {"url": url, "lock": True}})
        records = weights.fetch(entry, tmp_path)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert records["model"]["sha256"] == digest and records["model"]["commit"] is None
    lock = json.loads((tmp_path / weights.LOCK_FILE).read_text())
    assert lock == {"EnCodec/file": {"source": {"url": url}, "commit": None, "sha256": digest, "size": len(PAYLOAD)}}
    assert weights.ensure_all(entry, tmp_path)["model"].read_bytes() == PAYLOAD

    (tmp_path / "EnCodec" / "file").unlink()
    with serving(PAYLOAD[::-1]) as changed:  # upstream replaced the file under the same URL
        moved = dataclasses.replace(entry, weights={"model": {"url": changed, "lock": True}})
        _lock(moved, tmp_path, PAYLOAD)
        with pytest.raises(ChecksumMismatch):
            weights.fetch(moved, tmp_path)
    assert not (tmp_path / "EnCodec" / "file").exists()


def test_fetch_resolves_a_locked_hub_prefix_once_and_keeps_its_commit(tmp_path, monkeypatch):
    """A `lock: true` hub source named by a commit prefix: fetch downloads it at the full commit, locks that commit
    and the sha256, and a later fetch (file deleted) asks for the locked commit again, not the prefix."""
    from types import SimpleNamespace

    asked = []

    def fake_download(repo, file, revision, local_dir):
        asked.append(revision)
        target = Path(local_dir) / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(RIGHT)
        return str(target)

    commits = [SimpleNamespace(commit_id="ab" * 20), SimpleNamespace(commit_id=REVISION)]
    listed = SimpleNamespace(lfs=SimpleNamespace(sha256=hashlib.sha256(RIGHT).hexdigest()), blob_id="x")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    monkeypatch.setattr("huggingface_hub.HfApi.list_repo_commits", lambda self, repo, **kwargs: commits)
    monkeypatch.setattr("huggingface_hub.HfApi.get_paths_info", lambda self, *args, **kwargs: [listed])
    spec = {"hub": "someone/codec", "revision": REVISION[:7], "file": "g_00300000", "lock": True}
    entry = dataclasses.replace(registry.get("ticodec_1g1r"), weights={"model": spec})
    assert weights.fetch(entry, tmp_path)["model"]["commit"] == REVISION
    commits[:] = [SimpleNamespace(commit_id=REVISION[:7] + "f" * 33)]  # the prefix now names another commit
    weights.local_path(entry, spec, tmp_path).unlink()
    weights.fetch(entry, tmp_path)
    assert asked == [REVISION, REVISION]
    assert weights.ensure_all(entry, tmp_path)["model"].read_bytes() == RIGHT


def test_fetch_replaces_a_present_but_unverified_file(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with serving(PAYLOAD) as url:
        entry = dataclasses.replace(registry.get("Encodec_6b24k"), weights={"model": {"url": url, "lock": True}})
        _place(entry, tmp_path, WRONG)  # someone copied a file in: it is not what the pinned source serves
        weights.fetch(entry, tmp_path)
    assert (tmp_path / "EnCodec" / "file").read_bytes() == PAYLOAD


def test_hub_files_are_checked_against_the_digest_the_hub_publishes(tmp_path, monkeypatch):
    """A hub file with no pinned sha256 must match the hub's LFS sha256 (or git blob id) at that commit."""
    from types import SimpleNamespace

    from codecfake import download

    def fake_download(repo, file, revision, local_dir):
        target = Path(local_dir) / file
        target.write_bytes(WRONG)
        return str(target)

    listed = SimpleNamespace(lfs=SimpleNamespace(sha256=hashlib.sha256(RIGHT).hexdigest()), blob_id="x")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    monkeypatch.setattr("huggingface_hub.HfApi.get_paths_info", lambda self, *args, **kwargs: [listed])
    dest = tmp_path / "model.bin"
    with pytest.raises(ChecksumMismatch):
        download.hub_file("someone/model", "model.bin", REVISION, dest=dest)
    assert not dest.exists()
    with pytest.raises(download.DownloadFailed, match="not a pinned 40-hex commit"):
        download.hub_file("someone/model", "model.bin", "main", dest=dest)


# -- safe loading ---------------------------------------------------------------------------------------------
def test_full_pickle_only_for_verified_unchanged_files(tmp_path):
    import argparse
    import pickle

    import torch

    path = tmp_path / "lightning.ckpt"
    torch.save({"hyper_parameters": argparse.Namespace(dim=3), "state_dict": {"w": torch.ones(2)}}, path)
    plain = tmp_path / "state.pt"
    torch.save({"w": torch.ones(2)}, plain)
    with checkpoint_loads():
        assert torch.load(plain)["w"].sum() == 2  # weights_only=True reads a plain state dict
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=False)  # an unverified file: the caller's request is overruled
        mark_verified(path, hashlib.sha256(path.read_bytes()).hexdigest())
        assert torch.load(path)["hyper_parameters"].dim == 3
        torch.save({"hyper_parameters": argparse.Namespace(dim=4)}, path)  # changed after verification
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path)


def test_vctk_download_extracts_into_root(tmp_path):
    import io
    import zipfile

    from codecfake.corpus import download_vctk, read_vctk
    from tests.test_corpus_split_shard import make_vctk

    tree = make_vctk(tmp_path / "tree", speakers=("p225",), utts=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in tree.rglob("*"):
            archive.write(path, path.relative_to(tree))  # like the official zip: no top-level folder
    with serving(buffer.getvalue()) as url:
        root = download_vctk(tmp_path / "data" / "VCTK-Corpus-0.92", url, hashlib.sha256(buffer.getvalue()).hexdigest())
    assert read_vctk(root)[0]["utt_id"].tolist() == ["p225_001"]
    assert sorted(p.name for p in root.parent.iterdir()) == ["VCTK-Corpus-0.92", "VCTK-Corpus-0.92.zip"]


def test_ssl_frontend_fetch_follows_the_same_policy(tmp_path, monkeypatch):
    """The SSL front-end fetch goes through the same hub_file: a file unlike the hub's digest is deleted."""
    from types import SimpleNamespace

    from codecfake.cm.models.ssl_frontend import SSLWeightsUnavailable, fetch

    def fake_download(repo, file, revision, cache_dir):
        target = Path(cache_dir) / file
        target.write_bytes(WRONG)
        return str(target)

    listed = SimpleNamespace(path="model.safetensors", lfs=SimpleNamespace(sha256=hashlib.sha256(RIGHT).hexdigest()),
                             blob_id="x")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    monkeypatch.setattr("huggingface_hub.HfApi.get_paths_info", lambda self, *args, **kwargs: [listed])
    with pytest.raises(SSLWeightsUnavailable, match="does not match|git blob id does not match"):
        fetch("someone/ssl", REVISION, tmp_path)
    assert list(tmp_path.iterdir()) == []
