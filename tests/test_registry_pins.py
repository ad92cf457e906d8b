"""Every checkpoint file in the registry is pinned: verified by a full 64-hex sha256 or marked `lock: true`, and a
hub file named by a 40-hex commit. Only where nothing longer is public (issue 17: hhguo/SoCodec 8e5643e,
y-ren16/TiCodec 2117e04, Dongchao/2024 d603d7c) a `lock: true` file keeps its 7-hex commit prefix, resolved once by
`fetch`. No branch anywhere, except the one release URL listed in MOVING_URLS, whose bytes a full sha256 pins.

The rules are written here from the issue, not read from codecfake.registry.pin_problem; that function is then
held to the same registry and to hand-made bad sources.
"""
from __future__ import annotations

import re

import pytest
import yaml

from codecfake import RESOURCES, generator_registry, registry

SHA256 = re.compile(r"^[0-9a-f]{64}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
#: The hub repositories whose full commit is not public, with the prefix each is pinned at (issue 17).
PREFIX_PINNED = {"hhguo/SoCodec": "8e5643e", "y-ren16/TiCodec": "2117e04", "Dongchao/2024": "d603d7c"}
#: Release URLs on a moving hub branch: no commit of Alethia/BigCodec was found (searched: code, pages); the file's
#: full sha256 (third-party sourced) pins its bytes, so a moved branch can only make fetch refuse it.
MOVING_URLS = {"https://huggingface.co/Alethia/BigCodec/resolve/main/bigcodec.pt"}
PLACEHOLDER = re.compile(r"UNPINNED|REVISION_|TODO|FIXME", re.IGNORECASE)

SOURCES = [(entry.protocol_name, key, spec) for entry in registry.codecs().values()
           for key, spec in entry.weights.items()]
SOURCES += [(entry.name, key, spec) for entry in generator_registry.generators().values()  # CoSG generators too
            for key, spec in entry.weights.items()]
IDS = [f"{name}-{key}" for name, key, _ in SOURCES]


def test_registry_files_hold_no_placeholder():
    for path in [*sorted((RESOURCES / "codecs").glob("*.yaml")), *sorted((RESOURCES / "generators").glob("*.yaml"))]:
        for name, entry in yaml.safe_load(path.read_text()).items():
            for key, spec in entry["weights"].items():
                assert not PLACEHOLDER.search(str(spec)), f"{path.name}: {name}.{key} holds a placeholder: {spec}"


@pytest.mark.parametrize("name,key,spec", SOURCES, ids=IDS)
def test_every_sha256_is_a_full_digest_and_every_other_file_is_locked(name, key, spec):
    if "sha256" in spec:
        assert SHA256.match(str(spec["sha256"])), f"{name}.{key}: sha256 {spec['sha256']!r} is not 64 hex"
        assert "lock" not in spec, f"{name}.{key}: sha256 and lock are exclusive"
    else:
        assert spec.get("lock") is True, f"{name}.{key}: neither a full sha256 nor lock: true"


@pytest.mark.parametrize("name,key,spec", SOURCES, ids=IDS)
def test_every_hub_file_is_at_a_commit_or_one_of_the_three_locked_prefixes(name, key, spec):
    assert ("hub" in spec) != ("url" in spec), f"{name}.{key}: exactly one of hub/url: {spec}"
    if "hub" in spec:
        assert spec.get("file"), f"{name}.{key}: a hub source names its file"
        revision = str(spec["revision"])
        if spec["hub"] in PREFIX_PINNED:
            assert revision == PREFIX_PINNED[spec["hub"]] or COMMIT.match(revision), f"{name}.{key}: {revision}"
            assert COMMIT.match(revision) or spec.get("lock") is True, f"{name}.{key}: a prefix needs lock: true"
        else:
            assert COMMIT.match(revision), f"{name}.{key}: hub revision {revision!r} is not a 40-hex commit"
    else:
        url = spec["url"]
        assert url.startswith("https://"), f"{name}.{key}: {url}"
        hub_url = re.match(r"https://huggingface\.co/[^/]+/[^/]+/(?:resolve|raw|blob)/([^/]+)/", url)
        branch = re.search(r"/(?:main|master|latest)/", url)
        moving = (hub_url and not COMMIT.match(hub_url.group(1))) or branch
        assert not moving or url in MOVING_URLS, f"{name}.{key}: {url} names a branch, not a commit"


def test_the_three_prefixes_are_still_in_use_and_locked():
    used = {(spec["hub"], str(spec["revision"])) for _, _, spec in SOURCES
            if "hub" in spec and not COMMIT.match(str(spec["revision"]))}
    assert used == set(PREFIX_PINNED.items()), f"prefix-pinned now: {sorted(used)}"
    assert {spec["url"] for _, _, spec in SOURCES if spec.get("url") in MOVING_URLS} == MOVING_URLS
    assert all("sha256" in spec for _, _, spec in SOURCES if spec.get("url") in MOVING_URLS)


def test_no_source_names_the_old_encodec_prefix_as_its_hash():
    """Issue 17: EnCodec (and Vocos' EnCodec file) were "verified" by d7cc33bc, the file name's prefix."""
    pins = {f"{name}.{key}": spec.get("sha256") for name, key, spec in SOURCES
            if "encodec_24khz-d7cc33bc.th" in spec.get("url", "")}
    assert pins == dict.fromkeys(["Encodec_6b24k.model", "Encodec_24b24k.model", "Encodec_3b24k.model",
                                  "Encodec_12b24k.model", "vocos_encodec_6.encodec", "vocos_encodec_12.encodec"],
                                 "d7cc33bcf1aad7f2dad9836f36431530744abeace3ca033005e3290ed4fa47bf")


@pytest.mark.parametrize("name,key,spec", SOURCES, ids=IDS)
def test_the_runtime_pin_check_accepts_every_registered_source(name, key, spec):
    assert registry.pin_problem(spec) is None, f"{name}.{key}: {registry.pin_problem(spec)}"


FULL, COMMIT40 = "ab" * 32, "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("spec,reason", [
    ({"url": "https://x/encodec_24khz-d7cc33bc.th", "sha256": "d7cc33bc"}, "not a full 64-hex digest"),
    ({"url": "https://x/f", "sha256": FULL[:63]}, "not a full 64-hex digest"),
    ({"url": "https://x/f", "sha256": FULL.upper()}, "not a full 64-hex digest"),
    ({"url": "https://x/f", "sha256": FULL + "\n"}, "not a full 64-hex digest"),
    ({"hub": "a/b", "revision": COMMIT40 + "\n", "file": "f", "sha256": FULL}, "not a pinned 40-hex commit"),
    ({"url": "https://x/f", "sha256": FULL, "lock": True}, "exclusive"),
    ({"url": "https://x/f"}, "neither"),
    ({"url": "https://x/f", "lock": False}, "true or absent"),
    ({"url": "https://x/f", "lock": True, "sha256_prefix": "d7cc33bc"}, "unknown fields"),
    ({"hub": "a/b", "revision": "main", "file": "f", "lock": True}, "a branch or tag never"),
    ({"hub": "a/b", "revision": "8e5643e", "file": "f", "sha256": FULL}, "only with `lock: true`"),
    ({"hub": "a/b", "revision": "8e5643", "file": "f", "lock": True}, "not a pinned 40-hex commit"),
    ({"hub": "a/b", "revision": COMMIT40, "lock": True}, "names its `file`"),
    ({"hub": "a/b", "revision": COMMIT40, "file": "f", "url": "https://x/f", "lock": True}, "exactly one"),
])
def test_the_runtime_pin_check_refuses(spec, reason):
    assert reason in (registry.pin_problem(spec) or "accepted")


@pytest.mark.parametrize("spec", [
    {"hub": "a/b", "revision": COMMIT40, "file": "f", "sha256": FULL},
    {"hub": "a/b", "revision": "8e5643e", "file": "f", "lock": True},
    {"url": "https://x/f", "lock": True},
])
def test_the_runtime_pin_check_accepts(spec):
    assert registry.pin_problem(spec) is None


def test_one_repository_one_revision_per_configuration():
    """Files of one configuration from one hub repository come from one commit (a mixed snapshot is no release)."""
    for entry in registry.codecs().values():
        seen = {}
        for spec in entry.weights.values():
            if "hub" in spec:
                assert seen.setdefault(spec["hub"], spec["revision"]) == spec["revision"], entry.protocol_name
