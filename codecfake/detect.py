"""`codecfake detect`: score audio files with a binary countermeasure or a tracer, ours or a released reference.

--model names a preset (codecfake/resources/cm/models.yaml: aasist, aasist-l, w2v2-aasist, ...) or a released model
(codecfake/resources/cm/released.yaml: aasist-asvspoof2019, mel-lcnn-codecfake, ...; fetched and sha256-checked when no
--checkpoint is given). --checkpoint is a codecfake checkpoint (model.pt of cm-train or trace-train; it carries its
own spec, so --model may be left out) or a reference file (codecfake.checkpoint reads it). The model, the crop and
the score (log P(bona fide), the same as `codecfake trace` gives) are codecfake.detector's.
"""
from __future__ import annotations

import json
import sys

from codecfake.errors import UserError


def cmd_detect(args) -> None:
    import torch

    from codecfake.audio import UnreadableAudio, expand
    from codecfake.detector import load_detector, score_file
    from codecfake.device import pick_device

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    detector = load_detector(args.model, args.checkpoint, args.weights_dir, args.cache_dir)
    detector.model.to(device)
    paths = expand(args.audio)
    if not paths:
        raise UserError(f"no audio files found in {' '.join(args.audio)}")
    failed = 0
    for path in paths:
        try:
            result = score_file(detector, path, device)
        except UnreadableAudio as err:
            result, failed = {"path": str(path), "error": str(err)}, failed + 1
            print(f"codecfake detect: {path}: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps(result))
        elif "error" in result:
            print(f"{result['path']}\tERROR: {result['error']}")
        else:
            print(f"{result['path']}\t{result['score']:.6f}")
    if failed == len(paths):
        raise UserError(f"none of the {len(paths)} file(s) could be read")


def register(commands) -> None:
    """Add the user command `detect` to `codecfake` (codecfake/cli.py)."""
    description = __doc__.split("\n\n")[0]
    p = commands.top.add_parser("detect", help="bona fide score (log P) of audio files with a CM or tracer, ours or "
                                "released", description=description,
                                epilog="Prints `path<TAB>score` (or with --json one JSON object) per file. Exit "
                                       "status 0 when at least one file was scored, 2 when none was.")
    p.add_argument("audio", nargs="+", help="audio files (any rate, any channels) or folders (recursive)")
    p.add_argument("--model", default=None,
                   help="a preset (aasist, aasist-l, w2v2-aasist, mel-lcnn, ...) or a released model "
                        "(aasist-asvspoof2019, mel-lcnn-codecfake, ...); optional with a codecfake checkpoint")
    p.add_argument("--checkpoint", default=None, help="codecfake model.pt or a reference checkpoint file")
    p.add_argument("--json", action="store_true", help="one JSON object per file instead of path<TAB>score")
    p.add_argument("--weights-dir", default="weights", help="where released models are fetched to (under cm/)")
    p.add_argument("--cache-dir", default=None, help="hub cache of SSL front-ends (fetch_ssl_weights)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=cmd_detect)
