"""Paths the planners read from the rules that write them, so each output path is written once (in rules/)."""
from __future__ import annotations


def output_path(rule, key: str | int, **wildcards) -> str:
    """Output `key` (a name or an index) of a rule (Snakemake's `rules.<name>`) with its wildcards filled in."""
    pattern = rule.output[key] if isinstance(key, int) else getattr(rule.output, key)
    return str(pattern).format(**wildcards)
