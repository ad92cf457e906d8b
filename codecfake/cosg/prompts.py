"""Prompt lists: which bona fide utterance is each generated utterance's audio prompt, and what text it speaks.

MaskGCT-VCTK (CodecFake+ section V-B3): per speaker, the utterances sorted alphabetically; utterance i's waveform
is the prompt (with its own transcript) and utterance i+1's transcript the text to speak; the last one speaks the
first one's. Utterances without a transcript cannot be a prompt or a target and are left out first, so a speaker
without any (p315 in VCTK 0.92) is dropped, with a line in the log. The speaker split is CoRS's: the list of a
split is built from that split's manifest (codecfake.split). On VCTK 0.92 this gives 42,792 / 735 / 755.

MaskGCT-E2: the E2 TTS test set as F5-TTS distributes it (`librispeech_pc_test_clean_cross_sentence.lst`, LibriSpeech-PC
test-clean, 4-10 s targets): tab-separated lines `ref_utt ref_dur ref_text gen_utt gen_dur gen_text`, the prompt
audio at `<root>/<speaker>/<chapter>/<ref_utt>.flac`; the pairs are given, so only the rules on transcripts apply.

A prompt list is a TSV with PROMPT_COLUMNS, one row per generated utterance: `utt_id` names it (the prompt's
utt_id for VCTK, the target's for E2, where one prompt serves several targets), `prompt_utt` is its bona fide
source.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from codecfake.corpus import IDENTIFIER, IDENTIFIER_RULE
from codecfake.errors import UserError
from codecfake.tables import read_text, read_tsv, write_tsv_atomic

PROMPT_COLUMNS = ["utt_id", "prompt_utt", "speaker", "split", "prompt_path", "prompt_text", "target_utt",
                  "target_text", "language"]
E2_FIELDS = ("ref_utt", "ref_dur", "ref_text", "gen_utt", "gen_dur", "gen_text")
#: The split E2 lists are generated into (they are evaluation sets only).
E2_SPLIT = "eval"


class PromptError(UserError):
    pass


def _log(message: str) -> None:
    print(f"prompts: {message}", file=sys.stderr)


def _limit(frame: pd.DataFrame, max_prompts: int) -> pd.DataFrame:
    """The first max_prompts rows in utt_id order (0: all), for demos; the pairing is done before, on all rows."""
    ordered = frame.sort_values("utt_id", kind="stable").reset_index(drop=True)
    if max_prompts and len(ordered) > max_prompts:
        _log(f"keeping the first {max_prompts} of {len(ordered)} prompts (cosg.max_prompts)")
        return ordered.iloc[:max_prompts].reset_index(drop=True)
    return ordered


def next_transcript_pairs(manifest: pd.DataFrame, split: str, language: str = "en") -> pd.DataFrame:
    """The paper's pairing over a split manifest (utt_id, speaker, path, text): per speaker in utt_id order, each
    utterance prompts the next one's transcript, the last the first's."""
    texts = manifest["text"].fillna("").astype(str).map(lambda text: " ".join(text.split()))  # one line, one field
    rows = []
    for speaker, group in manifest.assign(text=texts).groupby("speaker", sort=True):
        usable = group[group["text"] != ""].sort_values("utt_id", kind="stable")
        missing = len(group) - len(usable)
        if usable.empty:
            _log(f"{split}: speaker {speaker} dropped: none of its {len(group)} utterances has a transcript")
            continue
        if missing:
            _log(f"{split}: speaker {speaker}: {missing} of {len(group)} utterances without a transcript left out")
        records = usable.to_dict("records")
        for index, prompt in enumerate(records):
            target = records[(index + 1) % len(records)]
            rows.append({"utt_id": prompt["utt_id"], "prompt_utt": prompt["utt_id"], "speaker": speaker,
                         "split": split, "prompt_path": prompt["path"], "prompt_text": prompt["text"],
                         "target_utt": target["utt_id"], "target_text": target["text"], "language": language})
    return pd.DataFrame(rows, columns=PROMPT_COLUMNS)


def corpus_prompts(split_manifest: str | Path, split: str, language: str = "en", max_prompts: int = 0
                   ) -> pd.DataFrame:
    """The prompt list of one split of the run's corpus (its split manifest, codecfake.split)."""
    manifest = read_tsv(split_manifest)
    missing = [c for c in ("utt_id", "speaker", "path", "text") if c not in manifest.columns]
    if missing:
        raise PromptError(f"split manifest {split_manifest} has no {', '.join(missing)} column: it was not written "
                          f"by the manifest step")
    pairs = next_transcript_pairs(manifest, split, language)
    if pairs.empty:
        raise PromptError(f"{split}: no utterance of {manifest['speaker'].nunique()} speaker(s) in {split_manifest} "
                          f"has a transcript, so there is nothing to prompt with (VCTK's are under txt/)")
    _log(f"{split}: {len(pairs)} prompts from {pairs['speaker'].nunique()} speakers")
    return _limit(pairs, max_prompts)


def e2_prompts(listing: str | Path, root: str | Path, language: str = "en", max_prompts: int = 0) -> pd.DataFrame:
    """The E2 TTS test list (see the module doc) as a prompt list; the audio must be under root."""
    listing, root = Path(listing), Path(root)
    if not listing.is_file():
        raise PromptError(f"E2 list {listing} does not exist (cosg.e2.list: the LibriSpeech-PC cross-sentence list)")
    rows, seen = [], set()
    for number, line in enumerate(read_text(listing).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != len(E2_FIELDS):
            raise PromptError(f"{listing} line {number}: {len(fields)} tab-separated fields, expected "
                              f"{len(E2_FIELDS)} ({' '.join(E2_FIELDS)})")
        record = dict(zip(E2_FIELDS, (" ".join(field.split()) for field in fields)))
        for key in ("ref_utt", "gen_utt"):
            if not IDENTIFIER.fullmatch(record[key]) or record[key].count("-") != 2:
                raise PromptError(f"{listing} line {number}: {key} {record[key]!r} is not a LibriSpeech utterance id "
                                  f"(SPEAKER-CHAPTER-NNNN; {IDENTIFIER_RULE})")
        if record["gen_utt"] in seen:
            raise PromptError(f"{listing} line {number}: gen_utt {record['gen_utt']!r} is listed twice")
        seen.add(record["gen_utt"])
        if not record["ref_text"] or not record["gen_text"]:
            _log(f"E2 line {number} ({record['gen_utt']}) left out: no {'ref' if not record['ref_text'] else 'gen'} "
                 f"transcript")
            continue
        speaker, chapter, _ = record["ref_utt"].split("-")
        rows.append({"utt_id": record["gen_utt"], "prompt_utt": record["ref_utt"], "speaker": speaker,
                     "split": E2_SPLIT, "prompt_path": str((root / speaker / chapter / f"{record['ref_utt']}.flac")
                                                           .resolve()),
                     "prompt_text": record["ref_text"], "target_utt": record["gen_utt"],
                     "target_text": record["gen_text"], "language": language})
    if not rows:
        raise PromptError(f"E2 list {listing} holds no usable line")
    _log(f"E2: {len(rows)} prompts from {len({r['speaker'] for r in rows})} speakers")
    return _limit(pd.DataFrame(rows, columns=PROMPT_COLUMNS), max_prompts)


def write_prompts(frame: pd.DataFrame, path: str | Path) -> None:
    write_tsv_atomic(frame[PROMPT_COLUMNS], path)


def read_prompts(path: str | Path) -> pd.DataFrame:
    """A prompt list, checked: every column, unique safe utt_ids, and text on both sides of every row."""
    path = Path(path)
    if not path.is_file():
        raise PromptError(f"prompt list {path} does not exist")
    try:
        frame = read_tsv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise PromptError(f"prompt list {path} is not a TSV table: {str(err).strip()}") from None
    missing = [c for c in PROMPT_COLUMNS if c not in frame.columns]
    if missing:
        raise PromptError(f"prompt list {path} lacks column(s) {', '.join(missing)}; a prompt list has "
                          f"{', '.join(PROMPT_COLUMNS)}")
    for index, row in enumerate(frame.to_dict("records")):
        where = f"prompt list {path} row {index + 2}"  # line numbers: the header is line 1
        for key in ("utt_id", "prompt_utt", "speaker"):
            if not IDENTIFIER.fullmatch(row[key]):
                raise PromptError(f"{where}: {key} {row[key]!r} is not a safe identifier ({IDENTIFIER_RULE})")
        for key in ("prompt_text", "target_text"):
            if not row[key].strip():
                raise PromptError(f"{where} ({row['utt_id']}): {key} is empty")
    duplicated = frame["utt_id"][frame["utt_id"].duplicated()]
    if len(duplicated):
        raise PromptError(f"prompt list {path}: utt_id {duplicated.iloc[0]!r} is listed twice")
    return frame
