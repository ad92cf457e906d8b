"""Some upstream loaders read files relative to the working directory (AudioDec's vocoder statistics, SoCodec's
HuBERT checkpoint): they run inside a prepared folder. contextlib.chdir only exists from Python 3.11 on, and SoCodec's
fairseq needs an older Python."""
from __future__ import annotations

import os
from contextlib import contextmanager


@contextmanager
def working_directory(path):
    """Run the block with `path` as the working directory, restoring the previous one afterwards."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
