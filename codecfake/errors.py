"""Errors whose message says all a user needs (bad input, missing data or weights): printed without traceback."""
from __future__ import annotations

import signal
import sys


class UserError(Exception):
    pass


def exit_on_sigterm() -> None:
    """SIGTERM (Snakemake or SLURM cancelling a job) becomes SystemExit, so `finally` blocks still run and no temp
    file (tables.atomic_output) is left behind."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
