"""codecfake: codec-resynthesized anti-spoofing data (CodecFake+ style), countermeasures and source tracing.

The package holds the logic the Snakemake rules call; the rules themselves only name inputs, outputs and envs.
"""
from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"


#: The one accessor of the fixed data (codec registry, taxonomy vocabularies, CM presets, corpus sources, licences):
#: package data (codecfake/resources/) found through importlib.resources, so a checkout, an editable and a wheel
#: install read the same files whatever the working folder. Every reader joins its file to this folder.
RESOURCES = Path(str(files(__name__) / "resources"))
