"""What rules/cm.smk needs at parse time: the CMs (with codec-level expansion), their resolved specs, the
evaluation sets and every path, derived from the validated `cm:` config without reading any data."""
from __future__ import annotations

import json
import re
from pathlib import Path

from codecfake.cm.presets import resolve
from codecfake.cosg.plan import generated_datasets
from codecfake.errors import UserError
from codecfake.rule_outputs import output_path
from codecfake.workflow import StagePlan, alternatives

BUILTIN_SETS = {"CoRS_eval": "eval", "CoRS_dev": "dev"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class CMPlan(StagePlan):
    def __init__(self, plan):
        super().__init__(plan)
        self.cm = self.config.get("cm") or {}
        # The generated CoSG sets (MaskGCT-VCTK_train ...) are data sets too; a configured set of that name wins.
        self.datasets = {**generated_datasets(self.config, self.results), **dict(self.cm.get("datasets") or {})}
        self.cms = self._expand(self.cm.get("models") or [])
        self.eval_sets = list(self.cm.get("eval_sets") or []) if self.cms else []
        for name in self.eval_sets:
            if name not in BUILTIN_SETS and name not in self.datasets:
                raise UserError(f"cm.eval_sets: {name!r} is neither CoRS_eval/CoRS_dev nor a cm.datasets entry")

    # -- CMs ---------------------------------------------------------------------------------------------------
    def _expand(self, entries: list[dict]) -> dict[str, dict]:
        """Config entries -> CMs by name; `single` over several codecs (or none = every codec) gives one CM each."""
        cms: dict[str, dict] = {}
        for index, entry in enumerate(entries):
            where = f"cm.models[{index}] ({entry['name']})"
            selection = dict(entry.get("train_set") or {})
            codecs = selection.get("codecs") or None
            for codec in codecs or []:
                if codec not in self.config["codecs"]:
                    raise UserError(f"{where}: codec {codec!r} is not in the workflow's codecs list")
            for name in [*selection.get("external", []), *selection.get("external_dev", [])]:
                if name not in self.datasets:
                    raise UserError(f"{where}: external set {name!r} is not a cm.datasets entry")
            if selection.get("strategy") == "single" and (codecs is None or len(codecs) > 1):
                variants = {f"{entry['name']}_{codec}": [codec] for codec in (codecs or self.config["codecs"])}
            else:
                variants = {entry["name"]: codecs}
            for name, variant_codecs in variants.items():
                if not NAME.fullmatch(name):
                    raise UserError(f"{where}: CM name {name!r} must be letters, digits and _ . + -")
                if name in cms:
                    raise UserError(f"{where}: CM name {name!r} is used twice")
                cms[name] = {**entry, "name": name, "train_set": {**selection, "codecs": variant_codecs}}
        return cms

    @property
    def names(self) -> list[str]:
        return list(self.cms)

    def spec(self, name: str) -> dict:
        """Everything a CM's jobs need: resolved model spec, seed, selection with its external sets inlined."""
        entry = self.cms[name]
        spec = resolve(entry["model"], entry.get("arch"), entry.get("train"))
        selection = entry["train_set"]
        spec.update(name=name, seed=entry.get("seed") if entry.get("seed") is not None else self.config["seed"],
                    train_set={"strategy": selection.get("strategy", "union"), "codecs": selection.get("codecs"),
                               "attribute": selection.get("attribute"), "scale": selection.get("scale", 1),
                               "external": [self._dataset(n) for n in selection.get("external", [])],
                               "external_dev": [self._dataset(n) for n in selection.get("external_dev", [])]})
        return spec

    def spec_json(self, name: str) -> str:
        return json.dumps(self.spec(name), sort_keys=True)

    def dataset_spec(self, name: str) -> dict:
        """A data set's spec as jobs read it; a set this run generates (CoSG) reads rule cosg_protocol's output."""
        spec = dict(self.datasets[name])
        generated = spec.pop("generated", None)
        if generated:
            spec["protocol"] = output_path(self.rules.cosg_protocol, "protocol", **generated)
        return spec

    def _dataset(self, name: str) -> dict:
        return {"name": name, **self.dataset_spec(name)}

    def external_inputs(self, name: str) -> list[str]:
        selection = self.cms[name]["train_set"]
        names = [*selection.get("external", []), *selection.get("external_dev", [])]
        return [path for n in names for path in self._dataset_inputs(n)]

    def ssl_inputs(self, name: str) -> list[str]:
        """The fetched-weights marker of a pretrained SSL front-end (so jobs on compute nodes read the cache)."""
        ssl = self.spec(name)["arch"].get("ssl")
        if self.spec(name)["arch"]["frontend"] != "ssl" or not ssl.get("pretrained"):
            return []
        return [output_path(self.rules.fetch_ssl_weights, 0, hub=ssl["pretrained"].replace("/", "--"),
                            revision=ssl["revision"])]

    # -- resources -------------------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self.cm.get("device") or self.config["device"]

    def gpus(self) -> int:
        """gpu=1 for training and scoring unless the CMs run on CPU (so CPU runs schedule locally)."""
        return 0 if self.device == "cpu" else 1

    def resource(self, key: str):
        """`cm.resources.<key>`; its default lives in config.schema.yaml (validation fills it in)."""
        return self.cm["resources"][key]

    # -- evaluation sets ---------------------------------------------------------------------------------------
    def eval_set_spec(self, name: str) -> dict:
        if name in BUILTIN_SETS:
            return {"format": "cors", "manifest": output_path(self.rules.cors_protocol, "manifest",
                                                              split=BUILTIN_SETS[name])}
        return self.dataset_spec(name)

    def eval_set_format(self, name: str) -> str:
        return "cors" if name in BUILTIN_SETS else self.datasets[name]["format"]

    def eval_set_json(self, name: str) -> str:
        return json.dumps(self.eval_set_spec(name), sort_keys=True)

    def _dataset_inputs(self, name: str) -> list[str]:
        """A set with a download url and no local copy waits for its fetch rule; otherwise for its protocol."""
        spec = self.dataset_spec(name)
        if spec.get("url") and not Path(spec["root"]).is_dir():
            return [output_path(self.rules.fetch_dataset, 0, dataset=name)]
        if spec["format"] == "codecfake":
            return [spec["root"]]  # the folder: a published copy, or this run's Codecfake layout (rules/codecfake.smk)
        return [spec["protocol"]] if spec.get("protocol") else []

    def eval_set_inputs(self, name: str) -> list[str]:
        if name in BUILTIN_SETS:
            return [self.eval_set_spec(name)["manifest"]]
        return self._dataset_inputs(name)

    def ci_condition(self, eval_set: str) -> str:
        """Bootstrap unit: speaker/source utterance on CoRS, system on CoSG, speaker on ASVspoof, trials else."""
        fmt = self.eval_set_format(eval_set)
        ci = self.cm.get("ci") or {}
        cors = ci.get("cors_condition", "source_utt")
        return {"cors": cors, "cors_published": cors, "codecfake": cors, "cosg": "system", "asvspoof2019": "speaker",
                "asvspoof5": "speaker"}.get(fmt, "none")

    def codecfake_sets(self) -> list[str]:
        """Evaluation sets in Codecfake's layout (format codecfake): the per-condition table's."""
        return [s for s in self.eval_sets if self.eval_set_format(s) == "codecfake"]

    def taxonomy_sets(self) -> list[str]:
        """Sets with a per-system taxonomy for Table V and the heatmap: CoSG first, CoRS when CoSG is absent."""
        cosg = [s for s in self.eval_sets if self.eval_set_format(s) == "cosg"]
        cors = [s for s in self.eval_sets if self.eval_set_format(s) in ("cors", "cors_published")]
        return cosg + cors

    # -- targets -----------------------------------------------------------------------------------------------
    def targets(self) -> list[str]:
        """The tables and figures of the evaluation and each CM's training log."""
        if not self.cms:
            return []
        rules = self.rules
        return [*rules.cm_tables.output, *rules.cm_report.output, *rules.cm_train_eval_heatmap.output,
                *[output_path(rules.cm_train, "log_table", cm=cm) for cm in self.cms]]

    @property
    def ci(self) -> dict:
        """`cm.ci`, defaults from config.schema.yaml."""
        return self.cm["ci"]

    def quality_args(self) -> list[str]:
        """cm-report options of the optional predicted-quality filter (paper: UTMOS > 3.5), one list item per
        argument (the rule quotes each with `:q`)."""
        quality = self.cm.get("quality") or {}
        if not quality.get("table"):
            return []
        return ["--quality-table", quality["table"], "--quality-key", quality["key"], "--quality-column",
                quality["column"], "--quality-threshold", str(quality["threshold"])]

    def fetch_args(self, dataset: str) -> list[str]:
        """The data-set fetch arguments, one list item per argument (the rule quotes each with `:q`)."""
        spec = self.dataset_spec(dataset)
        sha = ["--sha256", spec["sha256"]] if spec.get("sha256") else []
        return ["--url", spec.get("url") or "", *sha, "--dest", spec["root"]]

    def quality_inputs(self) -> list[str]:
        quality = self.cm.get("quality") or {}
        return [quality["table"]] if quality.get("table") else []

    def wildcard_constraints(self) -> dict[str, str]:
        return {"cm": alternatives(self.cms), "eval_set": alternatives(self.eval_sets),
                "dataset": alternatives(self.datasets), "hub": r"[^/@]+", "revision": r"[0-9a-f]{40}"}
