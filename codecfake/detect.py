"""`codecfake detect`: score audio files with a binary countermeasure or a tracer, ours or a released reference.

--model names a preset (resources/cm/models.yaml: aasist, aasist-l, w2v2-aasist, mel-lcnn, ...) or a released model
(resources/cm/released.yaml: aasist-asvspoof2019, mel-lcnn-codecfake, ...; fetched and sha256-checked when no
--checkpoint is given). --checkpoint is a codecfake checkpoint (model.pt of cm-train or trace-train; it carries its
own spec, so --model may be left out) or a reference file (codecfake.cm.released reads it).

Each file is read with soundfile (mixed to mono, resampled to 16 kHz by soxr where needed), its first
crop_samples (64,600) samples are taken, repeat-padded when shorter (the references' `pad`), and the model runs in
eval mode on that float32 crop. `score` is the bona fide logit, as the references score: clovaai's evaluation
writes logit[:, 1] (Codecfake's released models have bona fide at index 0 and write softmax[:, 0]; the
probabilities are reported too). A tracer reports each head's class probabilities; its score is the binary head's
bona fide logit (codecfake.trace.predict's score when it has no binary head).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from codecfake.errors import UserError

if TYPE_CHECKING:  # torch and the CM code load where a model runs: rules build this parser in envs without them
    import torch


@dataclass
class Detector:
    model: torch.nn.Module
    spec: dict
    bonafide_index: int
    tasks: list[str] | None = None


def load_reference_state(model: torch.nn.Module, state: dict) -> None:
    """Load a reference state dict under our (= the reference's) names: every key must match, except a
    pretrained SSL front-end's, which the released back-end files do not hold (its weights came from the hub)."""
    from codecfake.cm.models.ssl_frontend import SSLFrontend

    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # size mismatch: another configuration of the network
        raise UserError(f"checkpoint does not fit the {type(model).__name__} built from the preset: "
                        f"{' '.join(str(err).split())[:600]}") from err
    hub_frontend = isinstance(model.frontend, SSLFrontend)
    missing = [k for k in missing if not (hub_frontend and k.startswith("frontend."))]
    if missing or unexpected:
        raise UserError(f"checkpoint does not fit the {type(model).__name__} built from the preset: "
                        f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                        f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")


def load_detector(name: str | None, checkpoint: str | None, weights_dir: str | Path = "weights",
                  cache_dir: str | None = None) -> Detector:
    from codecfake.cm.metrics import BONAFIDE_LABEL
    from codecfake.cm.models import build_model
    from codecfake.cm.presets import model_names, resolve
    from codecfake.cm.released import canonical, fetch, read_checkpoint, released

    name = canonical(name) if name else None
    if name and name not in model_names() and name not in released():
        raise UserError(f"unknown model {name!r}; presets: {', '.join(model_names())}; "
                        f"released: {', '.join(released())}")
    if checkpoint is None:
        if name not in released():
            raise UserError(f"--checkpoint is needed for {name or 'no --model'}; models that need none: "
                            f"{', '.join(released())}")
        checkpoint = fetch(name, weights_dir)
    read = read_checkpoint(checkpoint)
    if read.spec is not None:  # a codecfake checkpoint: its own spec
        if name and name != read.spec["model"]:
            raise UserError(f"{checkpoint} is a checkpoint of {read.spec['model']}, not {name}")
        if read.tasks:
            from codecfake.trace.model import Tracer

            model = Tracer(read.spec, read.tasks)
        else:
            model = build_model(read.spec)
        model.load_state_dict(read.state)
        return Detector(model.eval(), read.spec, BONAFIDE_LABEL, read.tasks)
    entry = read.released_entry or released().get(name, {})
    if name and entry and name not in (entry["model"], read.released_name):
        raise UserError(f"{checkpoint} is the released {read.released_name} (a {entry['model']}), not {name}")
    base = entry.get("model", name)
    if base is None:
        raise UserError(f"{checkpoint} is a reference state dict: say which network it is with --model")
    spec = resolve(base, entry.get("arch"))
    model = build_model(spec, cache_dir)
    load_reference_state(model, read.state)
    return Detector(model.eval(), spec, entry.get("bonafide_index", BONAFIDE_LABEL))


def detect_file(detector: Detector, path: Path, device: torch.device) -> dict:
    """One file's result: {path, score, logits, bonafide_probability} or for a tracer {path, score, <task>: ...}."""
    import torch

    from codecfake.cm.data import CROP_SAMPLES, repeat_to
    from codecfake.cm.metrics import BONAFIDE_LABEL
    from codecfake.trace.infer import load_any

    crop = detector.spec.get("train", {}).get("crop_samples", CROP_SAMPLES)
    wave = torch.from_numpy(np.ascontiguousarray(repeat_to(load_any(path), crop), dtype=np.float32))[None]
    with torch.no_grad():
        out = detector.model(wave.to(device))
    if detector.tasks is None:
        logits = out[0].double().cpu()
        return {"path": str(path), "score": float(logits[detector.bonafide_index]), "logits": logits.tolist(),
                "bonafide_index": detector.bonafide_index,
                "bonafide_probability": float(torch.softmax(logits, -1)[detector.bonafide_index])}
    from codecfake.trace.predict import bonafide_score
    from codecfake.trace.tasks import classes

    probabilities = {t: torch.softmax(v.double(), dim=-1).cpu().numpy() for t, v in out.items()}
    score = (float(out["binary"][0, BONAFIDE_LABEL]) if "binary" in out
             else float(bonafide_score(probabilities)[0]))
    result = {"path": str(path), "score": score, "logits": {t: v[0].double().cpu().tolist() for t, v in out.items()}}
    for task, p in probabilities.items():
        result[task] = {name: float(p[0, i]) for i, name in enumerate(classes(task))}
    return result


def cmd_detect(args) -> None:
    import torch

    from codecfake.device import pick_device
    from codecfake.trace.infer import UnreadableAudio, expand

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
            result = detect_file(detector, path, device)
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
    p = commands.top.add_parser("detect", help="bona fide score of audio files with a CM or tracer (ours or released)",
                       description=description,
                       epilog="Prints `path<TAB>score` (or with --json one JSON object) per file. Exit status 0 when "
                              "at least one file was scored, 2 when none was.")
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
