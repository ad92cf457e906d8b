"""What rules/quality.smk needs at parse time: paths, targets, envs and the argument strings of its rules.

Everything is derived from the validated config and the registry (no file is read), so the quality part of the
DAG has (1 + codecs) x splits scoring and card jobs plus a handful of table/figure jobs, whatever the corpus size.
"""
from __future__ import annotations

import json

from codecfake import registry
from codecfake.quality.utmos_weights import checkpoint_path
from codecfake.registry import BONAFIDE
from codecfake.rule_outputs import output_path
from codecfake.split import SPLITS
from codecfake.workflow import StagePlan

#: Columns of metrics.tsv each `quality.metrics` name yields (a figure each).
METRIC_COLUMNS = {"pesq_wb": ["pesq_wb"], "stoi": ["stoi"], "mel_distance": ["mel_distance"], "si_sdr": ["si_sdr"],
                  "dnsmos": ["dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"]}
#: The quality tables (file name stems), each with an HTML view in the report: name -> (report category, caption
#: file).
TABLES = {"metrics": ("Quality", "metrics.rst"), "stats": ("Dataset", "stats.rst"),
          "provenance": ("Dataset", "provenance.rst"), "artifacts": ("Artifacts", "artifacts.rst"),
          "artifact_pairs": ("Artifacts", "artifact_pairs.rst")}
#: Config keys that define every subset's audio (the corpus, its split and the output format) beside the codec's.
DATA_KEYS = ("corpus", "demo_corpus", "split", "audio_format", "seed")


class QualityPlan(StagePlan):
    def __init__(self, plan):
        super().__init__(plan)
        self.settings = self.config["quality"]
        self.utmos = self.settings["utmos"]
        self.subsets = plan.subsets

    # -- inputs of the per-subset jobs --------------------------------------------------------------------------
    def env(self, subset: str) -> str:
        """The env a subset's card is written in: its codec's, whose package versions the card records."""
        return str(self.plan.basedir / self.env_file(subset))

    def env_file(self, subset: str) -> str:
        return "envs/core.yaml" if subset == BONAFIDE else registry.get(subset).env

    def checksummed(self, subset: str) -> list[str]:
        """The codecs whose checkpoint checksums (rule fetch_codec_weights) a subset's card records: its own where
        weights are pretrained, none for bona fide audio or random weights."""
        return [subset] if subset != BONAFIDE and self.plan.pretrained else []

    def provenance_config(self, subset: str) -> str:
        """JSON of the settings that define the subset's audio: the card hashes it."""
        data = {key: self.config.get(key) for key in DATA_KEYS}
        if self.config.get("corpora"):  # only where listed: a single-corpus run's card hashes what it always did
            data["corpora"] = self.config["corpora"]
        if subset != BONAFIDE:
            data["codec"] = json.loads(self.plan.fingerprint(subset))
        return json.dumps(data, sort_keys=True)

    # -- UTMOS -----------------------------------------------------------------------------------------------
    def utmos_checkpoint(self) -> str:
        return str(checkpoint_path(self.config["weights_dir"], self.utmos["hub_repo"], self.utmos["revision"],
                                   self.utmos["file"]))

    def utmos_inputs(self) -> list[str]:
        return [self.utmos_checkpoint()] if self.utmos["weights"] == "pretrained" else []

    def utmos_model_args(self) -> list[str]:
        """utmos-scores' model arguments, one list item per argument (the rule quotes each with `:q`)."""
        if self.utmos["weights"] == "random":
            return ["--random-weights", "--seed", str(int(self.config["seed"]))]
        label = f"{self.utmos['hub_repo']}@{self.utmos['revision']}"
        args = ["--checkpoint", self.utmos_checkpoint(), "--label", label]
        return args + (["--sha256", self.utmos["sha256"]] if self.utmos["sha256"] else [])

    def fetch_utmos_args(self) -> list[str]:
        """`fetch utmos-weights` arguments, one list item per argument (the rule quotes each with `:q`)."""
        u = self.utmos
        args = ["--weights-dir", self.config["weights_dir"], "--hub-repo", u["hub_repo"], "--revision",
                u["revision"], "--file", u["file"]]
        return args + (["--sha256", u["sha256"]] if u["sha256"] else [])

    def utmos_gpus(self) -> int:
        return self.plan.resynth_gpus()

    # -- outputs ---------------------------------------------------------------------------------------------
    def figure_metrics(self) -> list[str]:
        columns = [c for name in self.settings["metrics"] for c in METRIC_COLUMNS[name]]
        return columns + (["utmos"] if self.utmos["enabled"] else [])

    def cards(self) -> list[str]:
        return [output_path(self.rules.provenance_card, 0, subset=s, split=split) for split in SPLITS
                for s in self.subsets]

    def targets(self) -> list[str]:
        """The tables, their report views, the figures and every subset's provenance card."""
        if not self.settings["enabled"]:
            return []
        rules = self.rules
        return [*rules.quality_table_views.input, *rules.quality_table_views.output, *rules.quality_figures.output,
                rules.artifact_analysis.output.figure, *self.cards()]
