"""One model, one score: what `codecfake detect` and `codecfake trace` run on a user's file.

A checkpoint (read by codecfake.checkpoint) becomes a Detector: our CM or tracer rebuilt from its stored spec, or a
released reference network built from its preset. Each file is read by codecfake.audio.load_any (mono, 16 kHz), its
first crop (the spec's `crop_samples`, 64,600 by default) is taken, repeat-padded when shorter (the references'
`pad`), and the model runs in eval mode on that float32 crop.

`score` is log P(bona fide), for every model and both commands (so rankings and EERs agree between them, and with
the tracing pipeline, codecfake.trace.predict): for a binary CM the log of the softmax at its bona fide index
(clovaai: 1; Codecfake's released models: 0), for a tracer that of its binary head, or, without one,
codecfake.trace.predict's combination of the taxonomy heads. Beside it every result has `bonafide_probability`
(= exp(score)) and the raw `logits` (a tracer's per head, with each head's class probabilities): clovaai's
evaluation writes logit[:, 1], Codecfake's softmax[:, 0]; both can be read off.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from codecfake.errors import UserError

if TYPE_CHECKING:  # torch and the CM code load where a model runs: rules build the CLI parser in envs without them
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


def _released_entry(name: str | None, checkpoint: str, read) -> dict:
    """The released entry the file is run as, after checking that `--model name` agrees with the file."""
    from codecfake.cm.released import released

    if read.released_name is not None:  # the file is a released one, whatever --model says
        entry = read.released_entry
        if name and name not in (entry["model"], read.released_name):
            raise UserError(f"{checkpoint} is the released {read.released_name} (a {entry['model']}), not {name}")
        return entry
    if name in released():  # --model names a released file, --checkpoint gives another one
        entry = released()[name]
        raise UserError(f"{checkpoint} is not the released {name}: its sha256 is {read.sha256}, {name}'s is "
                        f"{entry['sha256']}; to score another file of that network give --model {entry['model']}")
    return {}


def load_detector(name: str | None, checkpoint: str | None, weights_dir: str | Path = "weights",
                  cache_dir: str | None = None) -> Detector:
    from codecfake.checkpoint import read_checkpoint
    from codecfake.cm.metrics import BONAFIDE_LABEL
    from codecfake.cm.models import build_model
    from codecfake.cm.presets import model_names, resolve
    from codecfake.cm.released import canonical, fetch, released

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
            from codecfake.trace.model import tracer_from

            model = tracer_from(read)
        else:
            model = build_model(read.spec)
            model.load_state_dict(read.state)
        return Detector(model.eval(), read.spec, BONAFIDE_LABEL, read.tasks)
    entry = _released_entry(name, checkpoint, read)
    base = entry.get("model", name)
    if base is None:
        raise UserError(f"{checkpoint} is a reference state dict: say which network it is with --model")
    spec = resolve(base, entry.get("arch"))
    model = build_model(spec, cache_dir)
    load_reference_state(model, read.state)
    return Detector(model.eval(), spec, entry.get("bonafide_index", BONAFIDE_LABEL))


def score_file(detector: Detector, path: Path, device: torch.device) -> dict:
    """One file's result: {path, score, bonafide_probability, logits, ...}; codecfake.audio.UnreadableAudio when
    the file cannot be read."""
    import torch

    from codecfake.audio import load_any
    from codecfake.cm.data import CROP_SAMPLES, repeat_to

    crop = detector.spec.get("train", {}).get("crop_samples", CROP_SAMPLES)
    wave = torch.from_numpy(np.ascontiguousarray(repeat_to(load_any(path), crop), dtype=np.float32))[None]
    with torch.no_grad():
        out = detector.model(wave.to(device))
    return {"path": str(path), **score_output(detector, out)}


def score_output(detector: Detector, out) -> dict:
    """The one score convention (module docstring) of one clip's model output."""
    import torch

    if detector.tasks is None:
        logits = out[0].double().cpu()
        probability = float(torch.softmax(logits, -1)[detector.bonafide_index])
        with np.errstate(divide="ignore"):
            score = float(np.log(probability))
        return {"score": score, "bonafide_probability": probability, "logits": logits.tolist(),
                "bonafide_index": detector.bonafide_index}
    from codecfake.trace.predict import bonafide_score
    from codecfake.trace.tasks import classes

    probabilities = {t: torch.softmax(v.double(), dim=-1).cpu().numpy() for t, v in out.items()}
    score = float(bonafide_score(probabilities)[0])
    result = {"score": score, "bonafide_probability": float(np.exp(score)),
              "logits": {t: v[0].double().cpu().tolist() for t, v in out.items()}}
    for task, p in probabilities.items():
        result[task] = {name: float(p[0, i]) for i, name in enumerate(classes(task))}
    return result
