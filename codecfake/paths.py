"""Output paths built from manifest values (utt_id, speaker, codec names) must stay inside results_dir.

Identifiers are validated when the manifest is made (codecfake.corpus); this is the second line of defence at the
point of writing, so no manifest value, however it got there, writes outside the results folder.
"""
from __future__ import annotations

import os
from pathlib import Path

from codecfake.errors import UserError


class OutsideResultsError(UserError):
    pass


def inside_results(results_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """`path`, resolved (symlinks and `..` followed), if it lies inside results_dir; else an error naming both."""
    root = Path(results_dir).resolve()
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root):
        raise OutsideResultsError(f"refusing to write {path}: it resolves to {resolved}, outside results_dir {root}")
    return resolved
