"""codecfake: codec-resynthesized anti-spoofing data (CodecFake+ style), countermeasures and source tracing.

The package holds the logic the Snakemake rules call; the rules themselves only name inputs, outputs and envs.
"""
from pathlib import Path

__version__ = "0.1.0"

#: The repository's fixed data (codec registry, taxonomy vocabularies, speaker split, architectures).
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
