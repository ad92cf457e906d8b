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
    download(server, dest, sha256=digest)  # present: verified, not fetched again
    with pytest.raises(ChecksumMismatch, match="not a full sha256"):
        download(server, dest, sha256=digest[:8])  # a prefix of the right digest still verifies nothing


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
    locked_branch = _with(entry, lambda spec: {**{k: v for k, v in spec.items() if k != "sha256"},
                                               "revision": "main", "lock": True})
    with pytest.raises(WeightsUnavailable, match="a branch or tag never"):
        weights.ensure_all(locked_branch, tmp_path)  # `lock: true` allows a commit prefix, never a branch
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
    with pytest.raises((ChecksumMismatch, WeightsUnavailable), match="does not match|not downloaded by fetch"):
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
    with pytest.raises(WeightsUnavailable, match="not downloaded by fetch.*Delete it and run `codecfake fetch"):
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


def test_a_hash_prefix_never_verifies(tmp_path):
    """The old EnCodec pin (the file name's 8-hex prefix) is refused as a pin, whatever bytes are on disk."""
    digest = hashlib.sha256(RIGHT).hexdigest()
    for prefix in (digest[:8], digest[:63]):
        entry = _with(registry.get("Encodec_6b24k"), lambda spec, prefix=prefix: {**spec, "sha256": prefix})
        _place(entry, tmp_path, RIGHT)
        with pytest.raises(WeightsUnavailable, match="not a full 64-hex digest"):
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
    commit_ids = ["ab" * 20, REVISION]
    asked = _hub_with_commits(monkeypatch, commit_ids)
    spec = {"hub": "someone/codec", "revision": REVISION[:7], "file": "g_00300000", "lock": True}
    entry = dataclasses.replace(registry.get("ticodec_1g1r"), weights={"model": spec})
    assert weights.fetch(entry, tmp_path)["model"]["commit"] == REVISION
    commit_ids[:] = [REVISION[:7] + "f" * 33]  # the prefix now names another commit
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
def test_no_full_pickle_even_for_verified_files(tmp_path):
    """Verification detects change; it never unlocks a full pickle: a verified file naming an object outside the
    allowlist is refused, naming the file, and nothing in it runs. Allowlisted objects load whether verified or not."""
    import argparse

    import torch

    from codec_wrappers._checkpoints import UnsafeCheckpoint

    lightning = tmp_path / "lightning.ckpt"
    torch.save({"hyper_parameters": argparse.Namespace(dim=3), "state_dict": {"w": torch.ones(2)}}, lightning)
    marker = tmp_path / "ran"
    planted = tmp_path / "planted.ckpt"
    torch.save({"hyper_parameters": Marker(marker), "state_dict": {"w": torch.ones(2)}}, planted)
    mark_verified(planted, hashlib.sha256(planted.read_bytes()).hexdigest())
    assert is_verified(planted)
    with checkpoint_loads():
        assert torch.load(lightning)["hyper_parameters"].dim == 3  # unverified, but only allowlisted objects
        with pytest.raises(UnsafeCheckpoint, match=f"{planted}: names Python objects outside"):
            torch.load(planted)
    assert not marker.exists()


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


# -- full hashes, commit prefixes, and what the lock may vouch for (issue 17) ------------------------------------
ENCODEC_PREFIX = "d7cc33bc"  # the prefix in EnCodec's released file name: what the registry pinned before


class Marker:
    """Unpickling this creates `path`: a planted checkpoint that would run code if anything fully unpickled it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def _hostile_pickle(marker: Path) -> bytes:
    import pickle

    return pickle.dumps({"state_dict": Marker(marker)})


@pytest.fixture
def forged_digest(monkeypatch):
    """sha256_of reports a digest that starts with EnCodec's file-name prefix for any file: as if the planted
    file had been ground to match the prefix (minutes of CPU, too slow for a test), so only the full pin differs."""
    forged = ENCODEC_PREFIX + "0" * 56
    monkeypatch.setattr("codecfake.download.sha256_of", lambda path: forged)
    return forged


def _plant_encodec(entry, weights_dir: Path, marker: Path) -> Path:
    (path,) = _place(entry, weights_dir, _hostile_pickle(marker))
    assert path.name == f"encodec_24khz-{ENCODEC_PREFIX}.th"
    return path


@pytest.mark.parametrize("name", ["Encodec_6b24k", "Encodec_24b24k"])
def test_a_forged_encodec_file_with_the_prefix_is_refused_by_fetch(tmp_path, forged_digest, capsys, name):
    from codecfake.cli import main

    marker = tmp_path / "marker"
    path = _plant_encodec(registry.get(name), tmp_path / "w", marker)
    _lock(registry.get(name), tmp_path / "w", path.read_bytes())  # a hand-written record does not help either
    assert main(["fetch", "codec-weights", "--codecs", name, "--weights-dir", str(tmp_path / "w")]) == 2
    error = capsys.readouterr().err
    assert f"sha256 {forged_digest} does not match the expected d7cc33bcf1aad7f2" in error
    assert "downloads are off" in error  # deleted, and offline nothing replaces it
    assert not path.exists() and not marker.exists()


def test_fetch_refuses_a_forged_encodec_download(tmp_path, forged_digest, monkeypatch):
    """Even served from the pinned URL (a compromised mirror), bytes that only share the prefix are refused."""
    import urllib.request

    marker = tmp_path / "marker"
    original = urllib.request.urlopen
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with serving(_hostile_pickle(marker)) as url:
        monkeypatch.setattr("urllib.request.urlopen", lambda request, timeout: original(url, timeout=timeout))
        with pytest.raises(ChecksumMismatch, match=f"sha256 {forged_digest} does not match"):
            weights.fetch(registry.get("Encodec_6b24k"), tmp_path)
    kept = [path.name for path in tmp_path.rglob("*") if path.is_file() and path.suffix != ".flock"]
    assert kept == [] and not marker.exists()  # no download, no .part, no lock record


@pytest.mark.parametrize("name", ["Encodec_6b24k", "Encodec_24b24k"])
def test_a_forged_encodec_file_is_refused_by_step_resynth_pretrained(tmp_path, forged_digest, capsys, name):
    """The loader path of the pipeline: `codecfake step resynthesize --weights pretrained`, with a lock record too."""
    from codecfake.cli import main

    marker = tmp_path / "marker"
    path = _plant_encodec(registry.get(name), tmp_path / "w", marker)
    _lock(registry.get(name), tmp_path / "w", path.read_bytes())
    out = tmp_path / "out"
    code = main(["step", "resynthesize", "--split-manifest", str(out / "split.tsv"), "--shard", "001of001",
                 "--results-dir", str(out), "--table", str(out / "t.tsv"), "--rejects", str(out / "r.tsv"),
                 "--codec", name, "--weights", "pretrained", "--weights-dir", str(tmp_path / "w"), "--device", "cpu",
                 "--format", "wav", "--seed", "0", "--batch-seconds", "5", "--batch-items", "16", "--chunk-seconds",
                 "30", "--threads", "1"])
    assert code == 2
    assert f"sha256 {forged_digest} does not match the expected d7cc33bcf1aad7f2" in capsys.readouterr().err
    assert not path.exists() and not marker.exists() and not out.exists()


@pytest.mark.parametrize("name", ["vocos_encodec_6", "vocos_encodec_12"])
def test_vocos_encodec_feature_file_is_held_to_the_full_sha256(tmp_path, forged_digest, name):
    entry = registry.get(name)
    encodec = dataclasses.replace(entry, weights={"encodec": entry.weights["encodec"]})
    assert entry.weights["encodec"] == registry.get("Encodec_6b24k").weights["model"]
    marker = tmp_path / "marker"
    path = _plant_encodec(encodec, tmp_path, marker)
    _lock(encodec, tmp_path, path.read_bytes())
    with pytest.raises(ChecksumMismatch, match=f"sha256 {forged_digest} does not match"):
        weights.ensure_all(encodec, tmp_path)
    assert not path.exists() and not marker.exists()


def test_a_hand_written_lock_record_does_not_make_a_planted_dac_file_fetched(tmp_path, monkeypatch):
    """DAC's file as if it had no published sha256 (`lock: true`): a pickle planted at its path with a record
    written for it is neither kept by fetch offline nor adopted online; the download from the pinned source is
    compared with the record, which fails, so nothing is locked. As registered (full sha256) it is refused too."""
    import urllib.request

    marker = tmp_path / "marker"
    planted = _hostile_pickle(marker)
    entry = _with(registry.get("DAC24"), _locked)
    (path,) = _place(entry, tmp_path, planted)
    assert path.relative_to(tmp_path).as_posix() == "DAC/weights_24khz.pth"
    _lock(entry, tmp_path, planted)
    lock_before = (tmp_path / weights.LOCK_FILE).read_text()
    with pytest.raises(WeightsUnavailable, match="is not adopted .* downloads are off"):
        weights.fetch(entry, tmp_path)

    original = urllib.request.urlopen
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with serving(RIGHT) as url:  # what the pinned release URL serves
        monkeypatch.setattr("urllib.request.urlopen", lambda request, timeout: original(url, timeout=timeout))
        with pytest.raises(ChecksumMismatch, match="not the .* recorded in .*the lock was edited"):
            weights.fetch(entry, tmp_path)
        assert not path.exists() and (tmp_path / weights.LOCK_FILE).read_text() == lock_before

        (tmp_path / weights.LOCK_FILE).unlink()  # without the forged record: the download is what gets locked
        _place(entry, tmp_path, planted)
        record = weights.fetch(entry, tmp_path)["model"]
    assert path.read_bytes() == RIGHT and record["sha256"] == hashlib.sha256(RIGHT).hexdigest()
    assert json.loads((tmp_path / weights.LOCK_FILE).read_text())["DAC/weights_24khz.pth"] == record

    as_registered = registry.get("DAC24")
    _place(as_registered, tmp_path, planted)
    _lock(as_registered, tmp_path, planted)
    with pytest.raises(ChecksumMismatch, match="does not match the expected 44bad592"):
        weights.ensure_all(as_registered, tmp_path)
    assert not path.exists() and not marker.exists()


def test_fetch_locks_only_what_it_downloaded(tmp_path, monkeypatch):
    """A sha256-pinned file already on disk that matches its pin is kept, but fetch writes no record for it."""
    entry = _with(registry.get("DAC24"), _sha256_pinned)
    (path,) = _place(entry, tmp_path, RIGHT)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("urllib.request.urlopen", lambda *args, **kwargs: pytest.fail("downloaded a pinned file"))
    assert weights.fetch(entry, tmp_path)["model"]["sha256"] == hashlib.sha256(RIGHT).hexdigest()
    assert path.read_bytes() == RIGHT and not (tmp_path / weights.LOCK_FILE).exists()


def _hub_with_commits(monkeypatch, commit_ids):
    from types import SimpleNamespace

    asked = []

    def fake_download(repo, file, revision, local_dir):
        asked.append(revision)
        target = Path(local_dir) / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(RIGHT)
        return str(target)

    listed = SimpleNamespace(lfs=SimpleNamespace(sha256=hashlib.sha256(RIGHT).hexdigest()), blob_id="x")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    monkeypatch.setattr("huggingface_hub.HfApi.list_repo_commits",
                        lambda self, repo, **kwargs: [SimpleNamespace(commit_id=c) for c in commit_ids])
    monkeypatch.setattr("huggingface_hub.HfApi.get_paths_info", lambda self, *args, **kwargs: [listed])
    return asked


SOCODEC = "socodec_16384x4_120ms_16khz_chinese"


@pytest.mark.parametrize("name,prefix", [(SOCODEC, "8e5643e"), ("ticodec_1g1r", "2117e04"), ("llm_codec", "d603d7c")])
def test_the_three_prefix_revisions_resolve_to_one_commit_at_first_fetch(tmp_path, monkeypatch, name, prefix):
    """Through a fake hub: the registry's prefix resolves to the one commit it starts with, which is downloaded
    and recorded; a prefix that names two commits or none is refused with a sentence, and nothing is fetched."""
    entry = registry.get(name)
    hub = {key: spec for key, spec in entry.weights.items() if spec.get("revision") == prefix}
    assert hub and all(spec.get("lock") is True for spec in hub.values())
    only = dataclasses.replace(entry, weights=hub)
    full = prefix + "a" * (40 - len(prefix))
    asked = _hub_with_commits(monkeypatch, ["b" * 40, full, "c" * 40])
    records = weights.fetch(only, tmp_path)
    assert {record["commit"] for record in records.values()} == {full} and set(asked) == {full}
    lock = json.loads((tmp_path / weights.LOCK_FILE).read_text())
    assert {record["commit"] for record in lock.values()} == {full}

    for commits, reason in (([full, prefix + "f" * 33], "2 commits start with"), (["b" * 40], "no commit starting")):
        fresh = tmp_path / reason.replace(" ", "_")
        asked = _hub_with_commits(monkeypatch, commits)
        with pytest.raises(WeightsUnavailable, match=reason):
            weights.fetch(only, fresh)
        assert asked == [] and not (fresh / weights.LOCK_FILE).exists()


def test_a_lock_record_may_not_move_a_prefix_to_another_commit(tmp_path, monkeypatch):
    entry = dataclasses.replace(registry.get(SOCODEC), weights={"vocoder": registry.get(SOCODEC).weights["vocoder"]})
    spec = entry.weights["vocoder"]
    path = weights.local_path(entry, spec, tmp_path)
    table = {str(path.relative_to(tmp_path)): {"source": weights.source(spec), "commit": "f" * 40,
                                                "sha256": hashlib.sha256(RIGHT).hexdigest(), "size": len(RIGHT)}}
    (tmp_path / weights.LOCK_FILE).write_text(json.dumps(table))
    _place(entry, tmp_path, RIGHT)
    asked = _hub_with_commits(monkeypatch, [spec["revision"] + "a" * 33])
    with pytest.raises(WeightsUnavailable, match="names commit 'f{40}', which is not hhguo/SoCodec@8e5643e"):
        weights.fetch(entry, tmp_path)
    with pytest.raises(WeightsUnavailable, match="the lock was edited"):
        weights.ensure_all(entry, tmp_path)
    assert asked == []


def test_a_planted_file_the_lock_vouches_for_still_runs_nothing(tmp_path):
    """The loader uses a lock record only to detect change: a planted DAC pickle with a matching hand-written record
    (DAC as if `lock: true`) passes that check, and the checkpoint reader then refuses it without running it."""
    from codec_wrappers._checkpoints import UnsafeCheckpoint

    marker = tmp_path / "marker"
    planted = _hostile_pickle(marker)
    entry = _with(registry.get("DAC24"), _locked)
    (path,) = _place(entry, tmp_path, planted)
    _lock(entry, tmp_path, planted)
    files = weights.ensure_all(entry, tmp_path)
    with pytest.raises(UnsafeCheckpoint, match="weights_24khz.pth"):
        entry.wrapper_class()(entry).load(files=files)
    assert not marker.exists()
