"""The quality steps of `codecfake step` (one per rule of rules/quality.smk), `codecfake fetch utmos-weights` and
`codecfake check report`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from codecfake.errors import UserError


def cmd_quality_score(args) -> None:
    from codecfake.quality.scoring import score_subset

    frame = score_subset(args.bonafide_tables, args.codec_tables, args.subset, args.results_dir, args.metrics,
                         args.out, args.dnsmos_batch, args.threads)
    print(f"quality {args.subset}: {len(frame)} files scored ({', '.join(args.metrics) or 'no metric'})",
          file=sys.stderr)


def utmos_model(args):
    """(model, label) of the UTMOS arguments of a scoring step (utmos-score, cosg-utmos): a verified checkpoint
    or, for pipeline checks, random weights, labelled so that they are never taken for a quality score."""
    from codecfake.quality import utmos

    if args.random_weights:
        return utmos.build_random(args.seed), "random (untrained UTMOS22 strong architecture; NOT a quality score)"
    return utmos.load_pretrained(args.checkpoint, args.sha256), f"pretrained {args.label}"


def utmos_arguments(p) -> None:
    """The model, device and batch options of a UTMOS scoring step (utmos-scores, cosg-utmos), read by utmos_model
    and score_files."""
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="verified local state dict (fetch utmos-weights)")
    model.add_argument("--random-weights", action="store_true", help="untrained model: pipeline checks only")
    p.add_argument("--sha256")
    p.add_argument("--label", default="", help="where the checkpoint came from, recorded in every row")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batch-items", type=int, required=True)
    p.add_argument("--batch-seconds", type=float, required=True)


def cmd_utmos_score(args) -> None:
    import torch

    from codecfake.device import pick_device
    from codecfake.quality.scoring import utmos_subset

    torch.set_num_threads(args.threads)
    device = str(pick_device(args.device))
    model, label = utmos_model(args)
    frame = utmos_subset(args.bonafide_tables, args.codec_tables, args.subset, args.results_dir, model, label,
                         args.out, device=device, batch_items=args.batch_items, batch_seconds=args.batch_seconds)
    print(f"utmos {args.subset}: {len(frame)} files on {device}, mean {frame['utmos'].mean():.3f} ({label})",
          file=sys.stderr)


def cmd_fetch_utmos_weights(args) -> None:
    from codecfake.download import sha256_of
    from codecfake.quality.utmos_weights import fetch_checkpoint

    path = fetch_checkpoint(args.weights_dir, args.hub_repo, args.revision, args.file, args.sha256)
    print(f"{args.hub_repo}@{args.revision}\t{path}\t{sha256_of(path)}")


def cmd_quality_aggregate(args) -> None:
    from codecfake.quality.aggregate import write_metrics

    table = write_metrics(args.scores, args.utmos, args.out)
    print(f"metrics: {len(table)} split x subset rows", file=sys.stderr)


def cmd_quality_figures(args) -> None:
    from codecfake.quality.figures import write_metric_figures

    write_metric_figures(args.metrics_table, args.metrics, args.out_dir)


def cmd_artifacts(args) -> None:
    from codecfake.quality.artifacts import write_analysis

    groups = write_analysis(args.manifest, args.results_dir, args.codecs, args.groups, args.pairs, args.figure,
                            count=args.utterances, n_fft=args.n_fft, hop=args.hop, clip_db=args.clip_db,
                            seed=args.seed)
    print(groups[["group", "pairs", "utterances", "ssim_mean", "corr_mean"]].to_string(index=False),
          file=sys.stderr)


def cmd_dataset_stats(args) -> None:
    from codecfake.quality.stats import write_stats

    if len(args.manifests) != len(args.splits) or len(args.rejects) != len(args.splits):
        raise UserError("give one manifest and one rejects table per split, in --splits order")
    table = write_stats(dict(zip(args.splits, args.manifests)), dict(zip(args.splits, args.rejects)), args.codecs,
                        args.out)
    print(table[table["subset"] == "all"].to_string(index=False), file=sys.stderr)


def cmd_provenance(args) -> None:
    from codecfake.quality.provenance import write_card

    record = write_card(args.out, subset=args.subset, split=args.split, mode=args.mode, env_file=args.env_file,
                        config=json.loads(args.config_json), tables=args.tables, rejects=args.rejects,
                        checksums=args.checksums[0] if args.checksums else None)
    print(f"provenance {args.subset}/{args.split}: {record['rows']['files']} files, weights "
          f"{record['weights']['mode']}, config {record['config_sha256'][:12]}", file=sys.stderr)


def cmd_provenance_summary(args) -> None:
    from codecfake.quality.provenance import write_summary

    write_summary(args.cards, args.out)


def cmd_table_views(args) -> None:
    from codecfake.quality.table_views import write_views

    if [Path(t).stem for t in args.tables] != [Path(o).stem for o in args.outs]:
        raise UserError("give one --outs path per --tables input, in the same order and named as it (metrics.tsv -> "
                        "metrics.html)")
    write_views(args.tables, args.outs)


def cmd_check_report(args) -> None:
    from codecfake.quality.report_check import check_report

    found = check_report(args.report, args.out_dir, args.figure)
    print(f"report renders: {found['figures']} figures embedded; {found['shown']} shown as image data; "
          f"screenshot {found['screenshot']} ({found['blank_fraction']:.0%} background)")


def _subset_inputs(p) -> None:
    p.add_argument("--subset", required=True, help="bonafide or a codec's protocol name")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--bonafide-tables", nargs="+", required=True, help="bona fide tables of the split")
    p.add_argument("--codec-tables", nargs="*", default=[], help="the subset's tables (not read for bonafide)")
    p.add_argument("--out", required=True)


def register(commands) -> None:
    """Register the quality commands on codecfake.cli's command groups."""
    step, fetch, check = commands.step, commands.fetch, commands.check
    p = step.add_parser("quality-scores", help="full-reference metrics and DNSMOS of one subset x split")
    _subset_inputs(p)
    # No defaults of their own here or in utmos-scores: the config's (config.schema.yaml) come through the rules.
    p.add_argument("--metrics", nargs="*", required=True)
    p.add_argument("--dnsmos-batch", type=int, required=True)
    p.add_argument("--threads", type=int, required=True, help="ONNX Runtime threads")
    p.set_defaults(func=cmd_quality_score)

    p = step.add_parser("utmos-scores", help="UTMOS22 strong learner scores of one subset x split")
    _subset_inputs(p)
    utmos_arguments(p)
    p.set_defaults(func=cmd_utmos_score)

    p = fetch.add_parser("utmos-weights", help="download and verify the UTMOS checkpoint at a pinned hub commit")
    p.add_argument("--weights-dir", default="weights")
    p.add_argument("--hub-repo", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--sha256")
    p.set_defaults(func=cmd_fetch_utmos_weights)

    p = step.add_parser("quality-metrics", help="per split x subset mean/std/95%% CI of the per-file scores")
    p.add_argument("--scores", nargs="+", required=True)
    p.add_argument("--utmos", nargs="*", default=[])
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_quality_aggregate)

    p = step.add_parser("quality-figures", help="Fig. 5-style per-codec bars, one PNG per metric")
    p.add_argument("--metrics-table", required=True)
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_quality_figures)

    p = step.add_parser("artifact-analysis",
                        help="residual-spectrogram SSIM/correlation of taxonomy-chosen codec pairs")
    p.add_argument("--manifest", required=True, help="CoRS manifest of the analysed split")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--codecs", nargs="+", required=True)
    p.add_argument("--utterances", type=int, required=True)
    p.add_argument("--n-fft", type=int, required=True)
    p.add_argument("--hop", type=int, required=True)
    p.add_argument("--clip-db", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--groups", required=True)
    p.add_argument("--pairs", required=True)
    p.add_argument("--figure", required=True)
    p.set_defaults(func=cmd_artifacts)

    p = step.add_parser("dataset-stats", help="paper Table II: utterances, hours, durations, rejects")
    p.add_argument("--splits", nargs="+", required=True)
    p.add_argument("--manifests", nargs="+", required=True)
    p.add_argument("--rejects", nargs="+", required=True)
    p.add_argument("--codecs", nargs="*", default=[])
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_dataset_stats)

    p = step.add_parser("provenance-card", help="provenance.json of one subset x split, beside its audio")
    p.add_argument("--subset", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--mode", required=True, choices=["pretrained", "random"], help="the run's codec weights")
    p.add_argument("--env-file", required=True, type=Path)
    p.add_argument("--config-json", required=True)
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--rejects", nargs="*", default=[])
    p.add_argument("--checksums", nargs="*", default=[], help="fetch_weights checksum table (pretrained)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_provenance)

    p = step.add_parser("quality-table-views", help="HTML views of TSV tables, shown inline by the report")
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--outs", nargs="+", required=True)
    p.set_defaults(func=cmd_table_views)

    p = check.add_parser("report", help="render a Snakemake report in headless Chromium, a figure shown")
    p.add_argument("report")
    p.add_argument("--out-dir", required=True, help="where the screenshot and the page it was taken of go")
    p.add_argument("--figure", help="ending of the figure's path to show (default: the first PNG)")
    p.set_defaults(func=cmd_check_report)

    p = step.add_parser("provenance-summary", help="one row per provenance card, for the report")
    p.add_argument("--cards", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_provenance_summary)
