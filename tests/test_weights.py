"""Checkpoint sources: verified downloads with resume, and a clear, fast failure offline."""
from __future__ import annotations

import hashlib
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

import codec_wrappers
from codecfake import registry
from codecfake.download import ChecksumMismatch, download
from codecfake.weights import WeightsUnavailable

PAYLOAD = bytes(range(256)) * 4096


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves PAYLOAD with HTTP Range support, as release hosts do."""

    def do_GET(self):
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if "Range" in self.headers else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/model.bin"
    httpd.shutdown()


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
def test_pretrained_fails_fast_and_clearly_offline(tmp_path, name):
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable, match=rf"{name}: checkpoint .* not at .*HF_HUB_OFFLINE=1.*fetch_weights"):
        codec_wrappers.load(name, weights="pretrained", weights_dir=tmp_path)
    assert time.perf_counter() - start < 5


def test_unpinned_hub_revision_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    entry = registry.get("vocos_encodec_6")
    spec = {**entry.weights["model"], "revision": "main"}
    patched = type(entry)(**{**entry.__dict__, "weights": {"model": spec}})
    from codecfake.weights import ensure_all

    with pytest.raises(WeightsUnavailable, match="not a pinned commit sha"):
        ensure_all(patched, tmp_path)
