"""`codecfake step codecfake-layout` and `codecfake-table`: the Codecfake steps (rules/codecfake.smk), kept out of
cli.py."""
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


def cmd_codecfake_table(args) -> None:
    from pathlib import Path

    from codecfake.cm.report import codecfake_conditions
    from codecfake.codecfake_layout import CONDITIONS
    from codecfake.tables import read_tsv, write_tsv_atomic

    eer = read_tsv(args.eer)
    eer[["eer", "ci_low", "ci_high"]] = eer[["eer", "ci_low", "ci_high"]].astype(float)
    scores = {}
    for path in args.scores:  # eval/scores/<cm>/<eval_set>.tsv
        table = read_tsv(path)
        table["score"] = table["score"].astype(float)
        scores[(Path(path).parent.name, Path(path).stem)] = table
    write_tsv_atomic(codecfake_conditions(eer, scores, CONDITIONS), args.out)


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

    p = commands.step.add_parser("codecfake-table", help="EER per Codecfake condition (C1-C7, C3-x, C4-x, A1-A3, "
                                                         "pooled) with CIs and Codecfake's own figure beside it")
    p.add_argument("--eer", required=True, help="eval/eer.tsv")
    p.add_argument("--scores", nargs="+", required=True, help="eval/scores/<cm>/<eval_set>.tsv of Codecfake sets")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_codecfake_table)
