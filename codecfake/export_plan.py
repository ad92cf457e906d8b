"""What rules/export.smk needs at parse time: the formats the config asks for and the card's corpus option."""
from __future__ import annotations

from codecfake.workflow import StagePlan


class ExportPlan(StagePlan):
    def __init__(self, plan):
        super().__init__(plan)
        self.formats = list(self.config["export"]["formats"] or [])

    def writes(self, fmt: str) -> bool:
        return fmt in self.formats

    def corpus_args(self) -> list[str]:
        """The rule's `--corpus` option for the card: export.corpus, else what the config reads (a synthetic demo
        corpus, a user manifest's unknown one, VCTK); none in a run over several corpora, whose manifests name each
        row's corpus."""
        config = self.config
        demo = config["demo_corpus"]["speakers"] or any(c["demo_speakers"] for c in config["corpora"])
        if config["export"]["corpus"] or demo:
            return ["--corpus", config["export"]["corpus"] or "demo"]
        if config["corpora"]:
            return []
        return ["--corpus", "unknown" if config["corpus"]["manifest"] else "vctk"]

    def targets(self) -> list[str]:
        """The card, metadata.csv, the Kaldi lists and the parquet folder, as the formats ask; none without any."""
        return list(self.rules.export.output) if self.formats else []
