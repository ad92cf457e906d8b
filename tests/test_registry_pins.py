"""Every checkpoint file in the registry is pinned: a hub file by a 40-hex commit, a release by a fixed URL, and
each by a sha256 (or the upstream's own hash prefix) or `lock: true`.

Hub revisions whose full commit could not be read when they were pinned are listed in UNRESOLVED with what was
read instead; the test fails when a new one appears and when a listed one gets its 40-hex commit (then delete the
line), so the list only shrinks.
"""
from __future__ import annotations

import re

import pytest
import yaml

from codecfake import RESOURCES, registry

COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Upstream loaders that check a hash prefix in the file name themselves (EnCodec's torch.hub checkpoints).
HASH_PREFIX = re.compile(r"^[0-9a-f]{8}$")
PLACEHOLDER = re.compile(r"UNPINNED|REVISION_|TODO|FIXME", re.IGNORECASE)

#: (hub repository, revision) whose full commit was not readable: a commit prefix read from the hub's pages, or
#: `main` where not even that was. Both only with `lock: true`.
UNRESOLVED = {
    ("hhguo/SoCodec", "8e5643e"),
    ("y-ren16/TiCodec", "2117e04"),
    ("Dongchao/2024", "d603d7c"),
    ("hf-audio/xcodec-hubert-librispeech", "main"),
    ("hf-audio/xcodec-hubert-general", "main"),
}

SOURCES = [(entry.protocol_name, key, spec) for entry in registry.codecs().values()
           for key, spec in entry.weights.items()]


def test_registry_files_hold_no_placeholder():
    for path in sorted((RESOURCES / "codecs").glob("*.yaml")):
        for name, entry in yaml.safe_load(path.read_text()).items():
            for key, spec in entry["weights"].items():
                assert not PLACEHOLDER.search(str(spec)), f"{path.name}: {name}.{key} holds a placeholder: {spec}"


@pytest.mark.parametrize("name,key,spec", SOURCES, ids=[f"{n}-{k}" for n, k, _ in SOURCES])
def test_each_file_is_pinned_and_verified(name, key, spec):
    assert ("hub" in spec) != ("url" in spec), f"{name}.{key}: exactly one of hub/url: {spec}"
    if "hub" in spec:
        assert spec.get("file"), f"{name}.{key}: a hub source names its file"
        pinned = (spec["hub"], str(spec["revision"]))
        assert COMMIT.match(pinned[1]) or pinned in UNRESOLVED, \
            f"{name}.{key}: hub revision {pinned[1]!r} is not a 40-hex commit"
    else:
        assert spec["url"].startswith("https://"), f"{name}.{key}: {spec['url']}"
        assert not re.search(r"/(resolve|raw)/main/|/master/|/latest/", spec["url"]) or "sha256" in spec, \
            f"{name}.{key}: a URL on a moving branch must carry its sha256"
    if "sha256" in spec:
        digest = str(spec["sha256"])
        assert "lock" not in spec, f"{name}.{key}: sha256 and lock are exclusive"
        assert SHA256.match(digest) or ("url" in spec and HASH_PREFIX.match(digest) and digest in spec["url"]), \
            f"{name}.{key}: sha256 {digest!r} is neither 64 hex nor the hash prefix the URL's file name carries"
    else:
        assert spec.get("lock") is True, f"{name}.{key}: neither sha256 nor lock: true"


def test_unresolved_revisions_are_locked_and_still_used():
    used = set()
    for name, key, spec in SOURCES:
        if "hub" in spec and (spec["hub"], str(spec["revision"])) in UNRESOLVED:
            used.add((spec["hub"], str(spec["revision"])))
            assert spec.get("lock") is True, f"{name}.{key}: an unresolved revision needs lock: true"
    assert used == UNRESOLVED, f"pinned since, drop from UNRESOLVED: {sorted(UNRESOLVED - used)}"


def test_one_repository_one_revision_per_configuration():
    """Files of one configuration from one hub repository come from one commit (a mixed snapshot is no release)."""
    for entry in registry.codecs().values():
        seen = {}
        for spec in entry.weights.values():
            if "hub" in spec:
                assert seen.setdefault(spec["hub"], spec["revision"]) == spec["revision"], entry.protocol_name
