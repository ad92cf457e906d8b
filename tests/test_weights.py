"""Checkpoint sources: verified downloads with resume, and a clear, fast failure offline."""
from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

import codec_wrappers
from codecfake import registry
from codecfake.download import ChecksumMismatch, download
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


@pytest.mark.parametrize("name", ["Encodec_6b24k", "vocos_encodec_6", "DAC24"])
def test_pretrained_fails_fast_and_clearly_offline(tmp_path, name, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("offline mode attempted a download")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_network)
    with pytest.raises(WeightsUnavailable, match=rf"{name}: checkpoint .* not at .*HF_HUB_OFFLINE=1.*fetch_weights"):
        codec_wrappers.load(name, weights="pretrained", weights_dir=tmp_path)


def test_unpinned_hub_revision_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    entry = registry.get("vocos_encodec_6")
    spec = {**entry.weights["model"], "revision": "main"}
    patched = type(entry)(**{**entry.__dict__, "weights": {"model": spec}})
    from codecfake.weights import ensure_all

    with pytest.raises(WeightsUnavailable, match="not a pinned commit sha"):
        ensure_all(patched, tmp_path)


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
