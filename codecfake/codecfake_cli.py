"""`codecfake step codecfake-layout`: the Codecfake layout step (rules/codecfake.smk), kept out of cli.py."""
from __future__ import annotations

import sys
from types import SimpleNamespace


def cmd_codecfake_layout(args) -> None:
    from codecfake import codecfake_layout
    from codecfake.tables import read_tsv

    manifests = dict(zip(("train", "dev", "eval"), (read_tsv(p) for p in (args.train, args.dev, args.eval))))
    counts = codecfake_layout.write(manifests, args.codecs, args.results_dir, args.out)
    for part, count in counts.items():
        print(f"label/{part}.txt\t{count} files", file=sys.stderr)


def register(commands: SimpleNamespace) -> None:
    p = commands.step.add_parser("codecfake-layout", help="Codecfake's train/dev/test folders and label/*.txt "
                                                          "from a run's CoRS manifests")
    p.add_argument("--train", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--codecs", nargs="+", required=True)
    p.add_argument("--results-dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_codecfake_layout)
