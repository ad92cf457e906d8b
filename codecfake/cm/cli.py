"""The countermeasure steps (`codecfake step cm-*`, one per rule of rules/cm.smk) and `codecfake fetch ssl-weights`,
`fetch dataset` (registered into `codecfake` by codecfake/cli.py)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from codecfake.errors import UserError


def _json_arg(text: str, what: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{what}: not valid JSON: {err}") from err


def _read_spec(path: str) -> dict:
    return json.loads(Path(path).read_text())


def cmd_select(args) -> None:
    from codecfake.cm import evalsets
    from codecfake.cm.selection import protocol_text, select
    from codecfake.tables import write_text_atomic, write_tsv_atomic

    spec = _json_arg(args.spec, "--spec")
    out = Path(args.out_dir)
    write_text_atomic(json.dumps(spec, indent=2, sort_keys=True) + "\n", out / "spec.json")
    strategy = spec["train_set"]
    for split, manifest, key in (("train", args.train_manifest, "external"), ("dev", args.dev_manifest,
                                                                            "external_dev")):
        trials = evalsets.cors(manifest, args.results_dir)
        externals = [evalsets.load(s["name"], s) for s in strategy.get(key, [])]
        selected = select(trials, strategy, spec["seed"], externals, what=f"{spec['name']} {split} set")
        write_tsv_atomic(selected, out / f"{split}.tsv")
        write_text_atomic(protocol_text(selected), out / f"{split}_protocol.txt")
        counts = selected.groupby(["domain", "label"]).size().to_dict()
        print(f"{spec['name']} {split}: {len(selected)} trials {counts}", file=sys.stderr)


def cmd_train(args) -> None:
    # Pretrained front-ends come from the cache the fetch_ssl_weights rule filled: never the network here.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from codecfake.cm.train import train
    from codecfake.cm.trials import check_trials
    from codecfake.tables import read_tsv

    torch.set_num_threads(args.threads)
    spec = _read_spec(args.spec)
    result = train(spec, check_trials(read_tsv(args.train), args.train), check_trials(read_tsv(args.dev), args.dev),
                   args.out_dir, device=args.device, cache_dir=args.cache_dir, progress=True)
    print(f"{spec['name']}: best epoch {result.best_epoch} (dev EER {result.best_dev_eer:.4f}) of "
          f"{result.epochs_run}", file=sys.stderr)


def cmd_eval_set(args) -> None:
    from codecfake.cm import evalsets
    from codecfake.tables import write_tsv_atomic

    table = evalsets.load(args.name, _json_arg(args.spec, "--spec"), args.results_dir)
    write_tsv_atomic(table, args.out)
    counts = table.groupby("label").size().to_dict()
    print(f"{args.name}: {len(table)} trials {counts}, {table['system'].nunique()} systems", file=sys.stderr)


def cmd_score(args) -> None:
    import torch

    from codecfake.cm.scoring import score_trials
    from codecfake.cm.trials import check_trials
    from codecfake.tables import read_tsv, write_tsv_atomic

    torch.set_num_threads(args.threads)
    scored = score_trials(args.model, check_trials(read_tsv(args.trials), args.trials), args.device,
                          args.batch_size, args.workers)
    write_tsv_atomic(scored, args.out)


def cmd_evaluate(args) -> None:
    from codecfake.cm.report import evaluate
    from codecfake.tables import read_tsv, write_tsv_atomic

    scores = read_tsv(args.scores)
    scores[["score", "bonafide_probability"]] = scores[["score", "bonafide_probability"]].astype(float)
    condition = None if args.condition == "none" else args.condition
    eer, confusion = evaluate(scores, args.cm, args.eval_set, condition, args.bootstraps, args.alpha)
    write_tsv_atomic(eer, args.eer_out)
    write_tsv_atomic(confusion, args.confusion_out)
    pooled = eer[eer["system"] == "pooled"].iloc[0]
    print(f"{args.cm} on {args.eval_set}: pooled EER {pooled['eer']:.4f} "
          f"[{pooled['ci_low']:.4f}, {pooled['ci_high']:.4f}]", file=sys.stderr)


def cmd_report(args) -> None:
    import pandas as pd

    from codecfake.cm.report import heatmap, quality_filter, taxonomy_level, training_classes
    from codecfake.tables import read_tsv, write_tsv_atomic

    eer = pd.read_csv(args.eer, sep="\t")
    classes = {Path(p).parent.name: training_classes(read_tsv(p)) for p in args.train_sets}
    quality = read_tsv(args.quality_table) if args.quality_table else None
    label = (f"{args.quality_column} > {args.quality_threshold}" if quality is not None else "none")
    scores = {}
    for path in args.scores:
        cm, eval_set = Path(path).parent.name, Path(path).stem
        if eval_set not in args.taxonomy_sets:
            continue
        table = read_tsv(path)
        table["score"] = table["score"].astype(float)
        if quality is not None:
            table = quality_filter(table, quality, args.quality_key, args.quality_column, args.quality_threshold)
        scores[(cm, eval_set)] = table
    write_tsv_atomic(taxonomy_level(scores, classes, label), args.taxonomy_out)
    heatmap(eer, args.taxonomy_sets, args.heatmap_out)


def cmd_train_eval_heatmap(args) -> None:
    import pandas as pd

    from codecfake.cm.report import train_eval_heatmap

    train_eval_heatmap(pd.read_csv(args.eer, sep="\t"), args.out)


def cmd_fetch_ssl(args) -> None:
    from codecfake.cm.models.ssl_frontend import fetch

    for name in fetch(args.name, args.revision, args.cache_dir):
        print(f"{args.name}\t{args.revision}\t{name}")


def cmd_fetch_dataset(args) -> None:
    from codecfake.cm.evalsets import fetch_archive

    if not args.url:
        raise UserError("no download url configured for this data set (cm.datasets.<name>.url)")
    print(f"unpacked into {fetch_archive(args.url, args.dest, args.sha256)}", file=sys.stderr)


def add_training_arguments(p) -> None:
    """The arguments every training subcommand takes (cm-train, trace-train): one spec, its trial tables, a device."""
    p.add_argument("--spec", required=True, help="spec.json written by cm-select")
    p.add_argument("--train", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--device", required=True, choices=["auto", "cpu", "cuda"])
    p.add_argument("--cache-dir", default=None, help="hub cache of pretrained SSL front-ends")
    p.add_argument("--threads", type=int, required=True)


def register(commands) -> None:
    step, fetch = commands.step, commands.fetch
    p = step.add_parser("cm-select", help="a CM's resolved spec, training and dev sets (trial tables + protocols)")
    p.add_argument("--spec", required=True, help="the resolved spec as JSON text (written to <out-dir>/spec.json)")
    p.add_argument("--train-manifest", required=True)
    p.add_argument("--dev-manifest", required=True)
    p.add_argument("--results-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_select)

    p = step.add_parser("cm-train", help="train one CM (resumes from its last checkpoint)")
    add_training_arguments(p)
    p.set_defaults(func=cmd_train)

    p = step.add_parser("cm-eval-set", help="trial table of an evaluation set")
    p.add_argument("--name", required=True)
    p.add_argument("--spec", required=True, help="the set as JSON: {format, root, protocol} or {format: cors, ...}")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_eval_set)

    p = step.add_parser("cm-score", help="score an evaluation set with a trained CM")
    p.add_argument("--model", required=True)
    p.add_argument("--trials", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--device", required=True, choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--threads", type=int, required=True)
    p.set_defaults(func=cmd_score)

    p = step.add_parser("cm-evaluate", help="per-system and pooled EER with bootstrap CIs, confusion counts")
    p.add_argument("--scores", required=True)
    p.add_argument("--cm", required=True)
    p.add_argument("--eval-set", required=True)
    p.add_argument("--condition", required=True, help="trial column the bootstrap resamples first, or none")
    p.add_argument("--bootstraps", type=int, required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--eer-out", required=True)
    p.add_argument("--confusion-out", required=True)
    p.set_defaults(func=cmd_evaluate)

    p = step.add_parser("cm-report", help="taxonomy_level.tsv and the codec-level heatmap")
    p.add_argument("--eer", required=True, help="every (CM, set) EER table in one (step concat)")
    p.add_argument("--scores", nargs="+", required=True, help="eval/scores/<cm>/<eval_set>.tsv files")
    p.add_argument("--train-sets", nargs="+", required=True, help="cm/<cm>/train.tsv files")
    p.add_argument("--taxonomy-sets", nargs="*", default=[])
    p.add_argument("--quality-table", default=None)
    p.add_argument("--quality-key", default="utt_id")
    p.add_argument("--quality-column", default="utmos")
    p.add_argument("--quality-threshold", type=float, default=3.5)
    p.add_argument("--taxonomy-out", required=True)
    p.add_argument("--heatmap-out", required=True)
    p.set_defaults(func=cmd_report)

    p = step.add_parser("cm-train-eval-heatmap", help="training set x evaluation set pooled EER heatmap (paper Fig. 7)")
    p.add_argument("--eer", required=True, help="every (CM, set) EER table in one (step concat)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train_eval_heatmap)

    p = fetch.add_parser("ssl-weights", help="download a pinned SSL front-end into the hub cache")
    p.add_argument("--name", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--cache-dir", required=True)
    p.set_defaults(func=cmd_fetch_ssl)

    p = fetch.add_parser("dataset", help="download and unpack a published evaluation set (e.g. CoSG)")
    p.add_argument("--url", default="")
    p.add_argument("--sha256", default=None)
    p.add_argument("--dest", required=True)
    p.set_defaults(func=cmd_fetch_dataset)
