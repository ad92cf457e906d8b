"""What rules/trace.smk needs at parse time: the tracers, their resolved specs, evaluation sets and paths, from
the validated `trace:` config alone (no data read, no torch import)."""
from __future__ import annotations

import json
import re

from codecfake.cm.presets import resolve
from codecfake.cm.workflow import CMPlan
from codecfake.errors import UserError
from codecfake.rule_outputs import output_path
from codecfake.trace.tasks import check_tasks
from codecfake.workflow import StagePlan, alternatives

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
RESERVED = {"sets", "metrics.tsv"}
#: The balanced selection's attribute is called QUA in codecfake.cm; VQ is accepted as its protocol spelling.
ATTRIBUTES = {"VQ": "QUA", "QUA": "QUA", "AUX": "AUX", "DEC": "DEC", None: None}


class TracePlan(StagePlan):
    def __init__(self, plan):
        super().__init__(plan)
        config = self.config
        self.trace = config.get("trace") or {}
        self.cm_plan = CMPlan(plan)  # evaluation-set specs (CoRS builtins and cm.datasets)
        self.tracers = {}
        for index, entry in enumerate(self.trace.get("tracers") or []):
            name = entry["name"]
            if not NAME.fullmatch(name) or name in RESERVED:
                raise UserError(f"trace.tracers[{index}]: name {name!r} must be letters, digits and _ . + - "
                                f"and not one of {sorted(RESERVED)}")
            if name in self.tracers:
                raise UserError(f"trace.tracers[{index}]: name {name!r} is used twice")
            check_tasks(entry.get("tasks") or ["binary", "VQ", "AUX", "DEC"])
            listed = ((entry.get("train_set") or {}).get("codecs") or []) + list(entry.get("held_out", []))
            for codec in listed:
                if codec not in config["codecs"]:
                    raise UserError(f"trace.tracers[{index}] ({name}): codec {codec!r} is not in the workflow's "
                                    f"codecs list")
            self.tracers[name] = entry
        self.eval_sets = list(self.trace.get("eval_sets") or []) if self.tracers else []
        for name in self.eval_sets:
            if name not in ("CoRS_eval", "CoRS_dev") and name not in self.cm_plan.datasets:
                raise UserError(f"trace.eval_sets: {name!r} is neither CoRS_eval/CoRS_dev nor a cm.datasets entry")

    def spec(self, name: str) -> dict:
        """The CM spec of the trunk, the selection (held-out codecs removed) and the `trace` head settings."""
        entry = self.tracers[name]
        selection = entry.get("train_set") or {}
        held_out = entry.get("held_out", [])
        codecs = [c for c in (selection.get("codecs") or self.config["codecs"]) if c not in held_out]
        if not codecs:
            raise UserError(f"trace tracer {name}: every codec is held out; nothing left to train on")
        spec = resolve(entry["model"], entry.get("arch"), entry.get("train"))
        spec.update(
            name=name, seed=entry.get("seed") if entry.get("seed") is not None else self.config["seed"],
            train_set={"strategy": selection.get("strategy", "balanced"), "codecs": codecs,
                       "attribute": ATTRIBUTES[selection.get("attribute", "DEC")],
                       "scale": selection.get("scale", 1), "external": [], "external_dev": []},
            trace={"tasks": check_tasks(entry.get("tasks") or ["binary", "VQ", "AUX", "DEC"]),
                   "head_weights": entry.get("head_weights") or {},
                   "learn_head_weights": bool(entry.get("learn_head_weights", False)),
                   "class_weights": entry.get("class_weights", "reference"), "select": entry.get("select", "loss"),
                   "held_out": held_out})
        return spec

    def spec_json(self, name: str) -> str:
        return json.dumps(self.spec(name), sort_keys=True)

    def held_out(self, tracer: str, eval_set: str) -> list[str]:
        """Held-out codecs are CoRS codec names: they apply to CoRS sets only."""
        if self.cm_plan.eval_set_format(eval_set) != "cors":
            return []
        return list(self.tracers[tracer].get("held_out", []))

    @property
    def device(self) -> str:
        return self.trace.get("device") or self.config["device"]

    def gpus(self) -> int:
        return 0 if self.device == "cpu" else 1

    def resource(self, key: str):
        """`trace.resources.<key>`; its default lives in config.schema.yaml (validation fills it in)."""
        return self.trace["resources"][key]

    def evaluation_pairs(self) -> dict[str, list[str]]:
        """Every (tracer, evaluation set) that rule trace_evaluate runs, as expand()'s zipped wildcard lists."""
        pairs = [(t, s) for t in self.tracers for s in self.eval_sets]
        return {"tracer": [t for t, _ in pairs], "trace_set": [s for _, s in pairs]}

    def targets(self) -> list[str]:
        """The metrics table, each tracer's training log and every evaluation folder."""
        if not self.tracers:
            return []
        rules = self.rules
        return [*rules.trace_metrics.output, *[output_path(rules.trace_train, "log_table", tracer=t)
                                               for t in self.tracers], *rules.trace_metrics.input]

    def wildcard_constraints(self) -> dict[str, str]:
        return {"tracer": alternatives(self.tracers), "trace_set": alternatives(self.eval_sets)}
