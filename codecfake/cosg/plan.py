"""What rules/cosg.smk needs at parse time: the generated sets, their splits, shards, envs and paths, from the
validated `cosg:` config (no data is read; the generator registry only when a generator is configured).

A set is `<generator>-<corpus_label>` (MaskGCT-VCTK: the run's corpus, split as CoRS is) with train, dev and eval,
and, where `cosg.e2.list` is set, `<generator>-E2` with eval only. Each set is also a CM data set (format cosg):
`<set>_<split>` for the corpus sets (MaskGCT-VCTK_train ...), `<generator>-E2` for E2 (`generated_datasets`).
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from codecfake.cosg.prompts import E2_SPLIT
from codecfake.errors import UserError
from codecfake.rule_outputs import output_path
from codecfake.shard import shard_name
from codecfake.split import SPLITS
from codecfake.workflow import StagePlan, alternatives

E2 = "E2"


def set_root(results: str | Path, cosg_set: str) -> Path:
    """The folder a set's audio goes to, one folder per system inside (the published CoSG layout)."""
    return Path(results) / "audio" / "cosg" / cosg_set


def _sets(settings: dict) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """set name -> (generator, prompt source, splits)."""
    sets = {}
    for generator in settings["generators"]:
        sets[f"{generator}-{settings['corpus_label']}"] = (generator, settings["corpus_label"], SPLITS)
        if settings["e2"]["list"]:
            sets[f"{generator}-{E2}"] = (generator, E2, (E2_SPLIT,))
    return sets


def generated_datasets(config: dict, results: str) -> dict[str, dict]:
    """The generated sets as CM data sets (codecfake.cm.workflow): name -> {format: cosg, root, and the (cosg_set,
    split) whose protocol it reads: rule cosg_protocol's output, filled in by the CM plan}."""
    datasets = {}
    settings = config["cosg"]
    for cosg_set, (_, source, splits) in _sets(settings).items():
        for split in splits:
            name = cosg_set if source == E2 else f"{cosg_set}_{split}"
            datasets[name] = {"format": "cosg", "root": str(set_root(results, cosg_set)),
                              "generated": {"cosg_set": cosg_set, "split": split}}
    return datasets


class CosgPlan(StagePlan):
    def __init__(self, plan):
        super().__init__(plan)
        self.settings = self.config["cosg"]
        self.sets = _sets(self.settings)
        if self.settings["e2"]["list"] and not self.settings["e2"]["root"]:
            raise UserError("cosg.e2.root: the E2 list is set but not the folder of its audio (LibriSpeech test-clean, "
                            "holding <speaker>/<chapter>/<utt>.flac)")
        if self.sets:
            self._check_generators()

    def _check_generators(self) -> None:
        from codecfake import generator_registry
        from codecfake.cosg.systems import cosg_systems

        known, systems = generator_registry.generators(), cosg_systems()
        for index, name in enumerate(self.settings["generators"]):
            if name not in known:
                raise UserError(f"cosg.generators[{index}]: unknown generator {name!r}; registered: "
                                f"{', '.join(known) or 'none'}")
            if known[name].cosg_system not in systems.index:
                raise UserError(f"cosg.generators[{index}]: {name}'s system {known[name].cosg_system!r} has no row in "
                                f"codecfake/resources/cosg_systems.tsv (its taxonomy)")

    # -- sets --------------------------------------------------------------------------------------------------
    def generator(self, cosg_set: str) -> str:
        return self.sets[cosg_set][0]

    def system(self, cosg_set: str) -> str:
        """The set's system name in protocols and folders: its generator's cosg_systems.tsv row (MASKGCT)."""
        return self._entry(cosg_set).cosg_system

    def _entry(self, cosg_set: str):
        from codecfake import generator_registry

        return generator_registry.generators()[self.generator(cosg_set)]

    def source(self, cosg_set: str) -> str:
        return self.sets[cosg_set][1]

    def pairs(self) -> list[tuple[str, str]]:
        """Every (set, split) the run generates."""
        return [(cosg_set, split) for cosg_set, (_, _, splits) in self.sets.items() for split in splits]

    @cache  # asked once per generation job
    def env(self, cosg_set: str) -> str:
        return str(self.plan.basedir / self._entry(cosg_set).env)

    @property
    def pretrained(self) -> bool:
        """Whether generation jobs wait for fetched, verified checkpoints (rule fetch_generator_weights)."""
        return self.settings["weights"] == "pretrained"

    @property
    def python(self) -> str:
        """The generator env's interpreter for jobs that need it (`cosg.python`), else the one the job's env has."""
        return self.settings["python"] or "python"

    @property
    def device(self) -> str:
        return self.settings["device"] or self.config["device"]

    def gpus(self) -> int:
        """gpu=1 for generation unless it runs on CPU (so CPU runs, like the demo's, schedule locally)."""
        return 0 if self.device == "cpu" else 1

    def resource(self, key: str):
        return self.settings["resources"][key]

    # -- prompts and shards -------------------------------------------------------------------------------------
    def prompt_args(self, source: str, listing: str) -> list[str]:
        """The cosg-prompts step's source arguments, one list item per argument (the rule quotes each): the split
        manifest, or the E2 list and its audio folder."""
        if source == E2:
            return ["--e2-list", listing, "--e2-root", self.settings["e2"]["root"]]
        return ["--split-manifest", listing]

    def e2_inputs(self) -> list[str]:
        return [self.settings["e2"]["list"]]

    def shards(self, cosg_set: str, split: str) -> list[str]:
        count = self.settings["e2"]["shards"] if self.source(cosg_set) == E2 else self.settings["shards"][split]
        return [shard_name(index, count) for index in range(count)]

    def shard_outputs(self, rule, key: str):
        """An input function: output `key` of every generation job of the set and split, by the rule's pattern."""

        def files(wildcards) -> list[str]:
            pattern = str(getattr(rule.output, key))
            return [pattern.format(cosg_set=wildcards.cosg_set, split=wildcards.split, shard=shard)
                    for shard in self.shards(wildcards.cosg_set, wildcards.split)]

        return files

    def provenance_config(self) -> str:
        """JSON of the settings that define a set's audio: the card hashes it."""
        keys = ("corpus", "corpora", "demo_corpus", "split", "seed")
        data = {key: self.config.get(key) for key in keys}
        data["cosg"] = {k: v for k, v in self.settings.items() if k not in ("resources", "shards")}
        return json.dumps(data, sort_keys=True)

    # -- targets -----------------------------------------------------------------------------------------------
    def wildcard_constraints(self) -> dict[str, str]:
        sources = {source for _, source, _ in self.sets.values()}
        return {"cosg_set": alternatives(self.sets), "cosg_source": alternatives(sorted(sources)),
                "generator": alternatives(self.settings["generators"])}

    def targets(self) -> list[str]:
        """Protocols, manifests and cards of every (set, split), and the UTMOS table where quality's UTMOS is on."""
        if not self.sets:
            return []
        rules, pairs = self.rules, self.pairs()
        files = [output_path(rules.cosg_protocol, key, cosg_set=s, split=split)
                 for s, split in pairs for key in ("protocol", "manifest")]
        files += [output_path(rules.cosg_card, 0, cosg_set=s, split=split) for s, split in pairs]
        quality = self.config["quality"]
        return files + (list(rules.cosg_utmos_summary.output) if quality["enabled"] and quality["utmos"]["enabled"]
                        else [])
