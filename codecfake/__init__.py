"""codecfake: codec-resynthesized anti-spoofing data (CodecFake+ style), countermeasures and source tracing.

The package holds the logic the Snakemake rules call; the rules themselves only name inputs, outputs and envs.
"""
from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


def _resources() -> Path:
    """The folder of fixed data, found through importlib.resources so an installed wheel reads its package data
    (`codecfake/resources`) and a checkout reads the repository's `resources/`, whatever the working folder."""
    packaged = Path(str(files(__name__) / "resources"))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "resources"


#: The one accessor of the fixed data (codec registry, taxonomy vocabularies, CM presets, corpus sources): every
#: reader joins its file to this folder.
RESOURCES = _resources()
