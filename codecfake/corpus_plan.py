"""The corpus part of the workflow plan: which corpora a run reads, what the corpus rules wait for, and the
arguments of the demo-corpus, fetch, corpus-manifest and split-speakers steps, all from the validated config at
parse time.

A run either lists `corpora` (each with its layout name, root and split rule; rows tagged with a `corpus`
column) or has the one corpus of `corpus` and `split` (VCTK or a user manifest, split by speaker, no `corpus`
column: the outputs such a run always wrote stay byte for byte the same).
"""
from __future__ import annotations

import json
from pathlib import Path

from codecfake.errors import UserError
from codecfake.rule_outputs import output_path

#: The folders whose presence says a corpus is there (one of them is enough), relative to its root.
AUDIO_FOLDERS = {"vctk": ("wav48_silence_trimmed",), "aishell3": ("train/wav", "test/wav")}
NAMES = {"vctk": "VCTK 0.92", "aishell3": "AISHELL-3"}


def present(name: str, root: str | Path) -> bool:
    return any((Path(root) / folder).is_dir() for folder in AUDIO_FOLDERS[name])


class CorpusPlan:
    def __init__(self, config: dict):
        self.config = config
        self.listed = bool(config["corpora"])
        self._check()

    def corpora(self) -> list[dict]:
        """Each corpus as a `corpora` entry; a run without that list has one: VCTK at corpus.root."""
        if self.listed:
            return self.config["corpora"]
        corpus = self.config["corpus"]
        return [{"name": "vctk", "root": corpus["root"], "download": corpus["download"], "mic": corpus["mic"],
                 "demo_speakers": self.config["demo_corpus"]["speakers"]}]

    def root(self, name: str) -> str:
        return next(entry["root"] for entry in self.corpora() if entry["name"] == name)

    def _check(self) -> None:
        if not self.listed and self.config["corpus"]["manifest"]:
            return
        seen: list[str] = []
        for index, entry in enumerate(self.corpora()):
            field = f"corpora[{index}]" if self.listed else "corpus"
            if entry["name"] in seen:
                raise UserError(f"{field}: {entry['name']} is listed again (corpora[{seen.index(entry['name'])}]); "
                                f"list each corpus once")
            seen.append(entry["name"])
            rule = entry.get("split")
            if rule and rule["by"] == "speaker" and not (rule["dev"] and rule["eval"]):
                raise UserError(f"{field}.split: by speaker needs dev and eval speakers (or by: utterance)")
            if entry["demo_speakers"] or entry["download"] or present(entry["name"], entry["root"]):
                continue
            expected = " or ".join(str(Path(entry["root"]) / f) for f in AUDIO_FOLDERS[entry["name"]])
            raise UserError(f"{field}.root: {NAMES[entry['name']]} not found, expected {expected}. Set {field}.root "
                            f"to your copy, {field}.download: true to fetch it"
                            f"{'' if self.listed else ', or corpus.manifest to use another corpus'}.")

    def inputs(self, rules) -> list[str]:
        """What the manifest rule waits for: a user manifest, the demo corpora, or the downloads (their paths read
        from the rules that write them, `rules`)."""
        if not self.listed and self.config["corpus"]["manifest"]:
            return [self.config["corpus"]["manifest"]]
        waits = []
        for entry in self.corpora():
            if entry["demo_speakers"]:
                waits.append(output_path(rules.demo_corpus, 0, corpus=entry["name"]))
            elif entry["download"] and not present(entry["name"], entry["root"]):
                waits.append(output_path(getattr(rules, f"fetch_{entry['name']}"), 0))
        return waits

    def demo_args(self, name: str) -> list[str]:
        """The demo-corpus step's corpus arguments, one list item per argument (rules quote each with `:q`)."""
        entry = next(entry for entry in self.corpora() if entry["name"] == name)
        return ["--out", entry["root"], "--layout", name, "--speakers", *entry["demo_speakers"]]

    def manifest_source(self) -> list[str]:
        """The manifest step's source arguments, one list item per argument."""
        corpus = self.config["corpus"]
        if not self.listed:
            if corpus["manifest"]:
                return ["--user-manifest", corpus["manifest"]]
            return ["--vctk", corpus["root"], "--mic", corpus["mic"]]
        mic = next((entry["mic"] for entry in self.corpora() if entry["name"] == "vctk"), "mic1")
        return [arg for entry in self.corpora() for arg in ("--corpus", f"{entry['name']}={entry['root']}")] + \
            ["--mic", mic]

    def split_args(self) -> list[str]:
        """The split step's rule arguments: the speakers of `split`, or one JSON rule per listed corpus."""
        if not self.listed:
            return ["--dev", *self.config["split"]["dev"], "--eval", *self.config["split"]["eval"]]
        return [arg for entry in self.corpora()
                for arg in ("--corpus-rule", json.dumps({"corpus": entry["name"], **entry["split"]}, sort_keys=True))]
