"""The tracing commands (registered into `codecfake` by codecfake/cli.py): `step trace-train` and
`step trace-evaluate` for rules/trace.smk, and the user command `trace` on audio files (`detect`:
codecfake.detect)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from codecfake.cm.cli import add_training_arguments
from codecfake.errors import UserError

CHECKPOINT_ENV = "CODECFAKE_TRACER"


def cmd_train(args) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # pretrained front-ends come from the fetched cache only
    import torch

    from codecfake.cm.trials import check_trials
    from codecfake.tables import read_tsv
    from codecfake.trace.train import train_tracer

    torch.set_num_threads(args.threads)
    spec = json.loads(Path(args.spec).read_text())
    result = train_tracer(spec, check_trials(read_tsv(args.train), args.train),
                          check_trials(read_tsv(args.dev), args.dev), args.out_dir, args.device, args.cache_dir)
    print(f"{spec['name']}: best epoch {result.best_epoch} (dev loss {result.best['dev_loss']:.4f}, mean macro F1 "
          f"{result.best['dev_mean_macro_f1']:.3f}) of {result.epochs_run}", file=sys.stderr)


def cmd_evaluate(args) -> None:
    import torch

    from codecfake.cm.trials import check_trials
    from codecfake.tables import read_tsv
    from codecfake.trace.evaluate import evaluate

    torch.set_num_threads(args.threads)
    metrics = evaluate(args.model, check_trials(read_tsv(args.trials), args.trials), args.tracer, args.eval_set,
                       args.out_dir, args.held_out, args.device, args.batch_size)
    pooled = metrics[metrics["subset"] == "pooled"]
    for row in pooled.itertuples():
        print(f"{args.tracer} on {args.eval_set} {row.head}: accuracy {row.accuracy:.3f}, macro F1 "
              f"{row.macro_f1:.3f} (majority {row.majority_macro_f1:.3f})", file=sys.stderr)


def cmd_trace(args) -> None:
    import torch

    from codecfake.audio import expand
    from codecfake.detector import load_detector
    from codecfake.device import pick_device
    from codecfake.trace.infer import format_table, trace_files

    checkpoint = args.checkpoint or os.environ.get(CHECKPOINT_ENV)
    if not checkpoint:
        raise UserError(f"no tracer checkpoint: give --checkpoint (a trace/<name>/model.pt) or set {CHECKPOINT_ENV}")
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    detector = load_detector(None, checkpoint)
    if not detector.tasks:
        raise UserError(f"{checkpoint} is not a tracer checkpoint (no task heads); score it with `codecfake detect`")
    detector.model.to(device)
    paths = expand(args.audio)
    if not paths:
        raise UserError(f"no audio files found in {' '.join(args.audio)}")
    results = trace_files(detector, paths, device, progress=not args.no_progress)
    tasks = detector.tasks
    if args.json:
        for result in results:
            print(json.dumps(result))
    else:
        print(format_table(results, tasks))
    failed = [r for r in results if "error" in r]
    for result in failed:
        print(f"codecfake {args.command}: {result['path']}: {result['error']}", file=sys.stderr)
    if len(failed) == len(results):
        raise UserError(f"none of the {len(results)} file(s) could be read")


def register(commands) -> None:
    step, top = commands.step, commands.top
    p = step.add_parser("trace-train", help="train one tracer (multi-task CM) from its spec and trial tables")
    add_training_arguments(p)
    p.set_defaults(func=cmd_train)

    p = step.add_parser("trace-evaluate", help="a tracer's predictions, per-head metrics and confusion matrices")
    p.add_argument("--model", required=True)
    p.add_argument("--trials", required=True)
    p.add_argument("--tracer", required=True)
    p.add_argument("--eval-set", required=True)
    p.add_argument("--held-out", nargs="*", default=[], help="codecs left out of training")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--device", required=True, choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--threads", type=int, required=True)
    p.set_defaults(func=cmd_evaluate)

    epilog = ("Prints one row (or with --json one JSON object) per file. Exit status 0 when at least one file was "
              "scored (unreadable files are reported per file, on stderr and in the output), 2 when none was.")
    for name, func, help_text in (
            ("trace", cmd_trace, "bona fide score and every head's class probabilities of audio files"),):
        p = top.add_parser(name, help=help_text, description=help_text, epilog=epilog)
        p.add_argument("audio", nargs="+", help="audio files (any rate, any channels) or folders (recursive)")
        p.add_argument("--checkpoint", default=None, help=f"tracer model.pt (default: ${CHECKPOINT_ENV})")
        p.add_argument("--json", action="store_true", help="one JSON object per file instead of a table")
        p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--no-progress", action="store_true")
        p.set_defaults(func=func)
