"""The codec registry (resources/codecs/*.yaml, one file per family) as typed entries.

Everything the pipeline knows about a codec configuration comes from this one table, so adding a codec is one
entry here plus its wrapper module and env file.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from codecfake import RESOURCES

TAXONOMY_FIELDS = ("QUA", "AUX", "DEC")
#: Subset name of the bona fide audio, beside the codecs' protocol names.
BONAFIDE = "bonafide"


@dataclass(frozen=True)
class CodecEntry:
    protocol_name: str
    id: str
    family: str
    config: str
    arch: str
    QUA: str
    AUX: str
    DEC: str
    wrapper: str
    env: str
    sample_rate: int
    settings: dict = field(default_factory=dict)
    architecture: str | None = None
    weights: dict = field(default_factory=dict)

    def architecture_params(self) -> dict:
        """Hyper-parameters of the model, read from the registry's architecture file."""
        if self.architecture is None:
            return {}
        return yaml.safe_load((RESOURCES.parent / self.architecture).read_text()) or {}

    def wrapper_class(self):
        module = importlib.import_module(f"codec_wrappers.{self.wrapper}")
        return module.WRAPPER

    def importable(self) -> bool:
        """Whether the family's upstream package imports here (i.e. this env can run the codec)."""
        try:
            cls = self.wrapper_class()
        except ImportError:
            return False
        return all(importlib.util.find_spec(name) is not None for name in cls.requires)


@lru_cache(maxsize=None)
def _load(folder: str) -> dict[str, CodecEntry]:
    table: dict[str, CodecEntry] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        for name, fields in (yaml.safe_load(path.read_text()) or {}).items():
            if name in table:
                raise ValueError(f"{path}: codec {name!r} is registered twice")
            table[name] = CodecEntry(protocol_name=name, **fields)
    return table


def codecs(folder: Path | None = None) -> dict[str, CodecEntry]:
    """All registered configurations (resources/codecs/<family>.yaml), keyed by protocol name."""
    return _load(str(folder or RESOURCES / "codecs"))


def get(name: str) -> CodecEntry:
    table = codecs()
    if name not in table:
        raise KeyError(f"unknown codec {name!r}; registered: {', '.join(table)}")
    return table[name]


@lru_cache(maxsize=None)
def protocol_labels() -> dict:
    """Paper taxonomy class -> spelling in the published protocol files (resources/protocol_labels.yaml)."""
    return yaml.safe_load((RESOURCES / "protocol_labels.yaml").read_text())


def protocol_taxonomy(entry: CodecEntry | None) -> dict[str, str]:
    """The AUX/DEC/VQ columns of a protocol line; REAL for bona fide (entry None)."""
    labels = protocol_labels()
    if entry is None:
        return {"AUX": labels["bonafide"], "DEC": labels["bonafide"], "VQ": labels["bonafide"]}
    return {"AUX": labels["AUX"][entry.AUX], "DEC": labels["DEC"][entry.DEC], "VQ": labels["QUA"][entry.QUA]}
