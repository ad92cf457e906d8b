"""Corpus -> manifest: the VCTK 0.92 and AISHELL-3 readers and user manifests.

The manifest is the pipeline's one view of the corpus: a TSV with utt_id, speaker, path, sample_rate, samples,
duration, text (paths absolute), and, when the config lists `corpora` (several corpora in one run), a last column
`corpus` naming each row's corpus (a single-corpus run keeps the columns, and so the bytes, it always had).
VCTK 0.92 keeps two microphones per utterance (`wav48_silence_trimmed/{spk}/{spk}_{nnn}_mic{1,2}.flac`); utt_id
drops the mic suffix. AISHELL-3 keeps `{train,test}/wav/{SSBxxxx}/{SSBxxxxnnnn}.wav` at 44.1 kHz with one
`content.txt` per part (`SSB00050001.wav<TAB>hanzi pinyin hanzi pinyin ...`); utt_id is the file's stem, and the
text is the transcript as written there (both parts are read: Codecfake splits all its utterances itself).

utt_id and speaker become file names and protocol fields, so they are checked here, once, before anything is
written: they must match IDENTIFIER as a whole string (letters, digits, `_`, `-`, `.`; starting with a letter,
digit or `_`; at most 128 characters: no `/`, `..`, spaces or absolute paths), be unique, and no utt_id may
equal another's `<utt_id>_<codec protocol name>` (the name of that utterance's resynthesis). A bad row is an
error naming it, or, with `corpus.invalid_ids: reject`, a row of the manifest's rejects table with its reason; so
is a user manifest row with more or fewer fields than its header.

Audio files are only probed here (never read, and a path that is not a regular file, such as a FIFO, never
opened): a file that cannot be used stays in the manifest with 0 samples, and the shard jobs reject it with the
reason, so every bad file is listed in its split's rejects.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import yaml
from tqdm import tqdm

from codecfake import RESOURCES
from codecfake.audio import BadAudio, probe
from codecfake.download import delete, download, verify
from codecfake.errors import UserError
from codecfake.tables import read_text

MANIFEST_COLUMNS = ["utt_id", "speaker", "path", "sample_rate", "samples", "duration", "text"]
#: The manifest's last column in a run over `corpora`: which corpus a row comes from (carried into the split,
#: the shard tables and the CoRS manifests; never into the published protocol lines).
CORPUS_COLUMN = "corpus"
REJECT_COLUMNS = ["row", "utt_id", "speaker", "path", "reason"]
IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # always with fullmatch: `$` passes a final newline
IDENTIFIER_RULE = "letters, digits, '_', '-', '.', starting with a letter, digit or '_', at most 128 characters"
INVALID_ID_MODES = ("error", "reject")
REQUIRED_USER_COLUMNS = ["utt_id", "speaker", "path"]
VCTK_FILE = re.compile(r"(?P<utt>(?P<spk>[ps]\d+)_\d+)_(?P<mic>mic[12])\.flac")
AISHELL3_FILE = re.compile(r"(?P<utt>(?P<spk>SSB\d{4})\d{4})\.wav")


class CorpusError(UserError):
    pass


def vctk_layout() -> dict:
    return yaml.safe_load((RESOURCES / "vctk.yaml").read_text())


def aishell3_layout() -> dict:
    return yaml.safe_load((RESOURCES / "aishell3.yaml").read_text())


def download_vctk(root: str | Path, url: str | None = None, sha256: str | None = None) -> Path:
    """Fetch the official archive beside `root` (resumable, checksum-verified) and extract it into `root`.

    The archive has no top-level folder. It is extracted into a temporary sibling that is renamed to `root` once
    complete, so an interrupted extraction is never taken for the corpus.
    """
    layout = vctk_layout()
    root = Path(root)
    archive = download(url or layout["url"], root.parent / layout["archive_name"], sha256=sha256 or layout["sha256"])
    partial = root.with_name(root.name + ".extracting")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(partial)
    if not (partial / layout["audio_dir"]).is_dir():
        raise CorpusError(f"{archive} holds no {layout['audio_dir']}/ folder: not the VCTK 0.92 archive")
    partial.rename(root)
    return root


def _header(path: str) -> tuple[int, int, str | None]:
    """Sample rate, length and None; (0, 0, reason) for a file the shard jobs will reject with that reason."""
    try:
        info = probe(path)
    except BadAudio as bad:
        return 0, 0, str(bad)
    return info.sample_rate, info.samples, None


def _identifier_problems(rows: list[dict], codec_names: list[str]) -> list[str | None]:
    """Per row, why it cannot be used (None if it can): the reader's "problem" (a malformed row), else its
    utt_id/speaker; later duplicates are the bad rows."""
    ids = {row["utt_id"] for row in rows}
    seen: set[str] = set()
    problems: list[str | None] = []
    for row in rows:
        utt, speaker = row["utt_id"], row["speaker"]
        problem = row.get("problem")
        if problem is not None:
            seen.add(utt)
            problems.append(problem)
            continue
        if not IDENTIFIER.fullmatch(utt):
            problem = f"utt_id {utt!r} is not a safe identifier ({IDENTIFIER_RULE})"
        elif not IDENTIFIER.fullmatch(speaker):
            problem = f"speaker {speaker!r} is not a safe identifier ({IDENTIFIER_RULE})"
        elif utt in seen:
            problem = f"utt_id {utt!r} is duplicated"
        else:
            clash = next((c for c in codec_names if utt.endswith(f"_{c}") and utt[: -len(c) - 1] in ids), None)
            if clash:
                problem = (f"utt_id {utt!r} collides with the {clash} resynthesis of utt_id "
                           f"{utt[: -len(clash) - 1]!r}")
        seen.add(utt)
        problems.append(problem)
    return problems


def _finish(rows: list[dict], on_invalid: str = "error", columns: list[str] = MANIFEST_COLUMNS
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated manifest (headers read) and the rows rejected for bad identifiers (only with on_invalid=reject)."""
    if on_invalid not in INVALID_ID_MODES:
        raise CorpusError(f"corpus.invalid_ids must be one of {', '.join(INVALID_ID_MODES)}, got {on_invalid!r}")
    from codecfake.registry import codecs

    problems = _identifier_problems(rows, list(codecs()))
    bad = [(row, problem) for row, problem in zip(rows, problems) if problem]
    if bad and on_invalid == "error":
        listed = "; ".join(f"{row['row']}: {problem}" for row, problem in bad[:5])
        raise CorpusError(f"{len(bad)} manifest row(s) cannot be used: {listed}"
                          f"{' ...' if len(bad) > 5 else ''} (fix them, or set corpus.invalid_ids: reject to "
                          f"leave them out, listed in corpus/manifest.rejects.tsv)")
    rejects = pd.DataFrame([{**row, "reason": problem} for row, problem in bad], columns=REJECT_COLUMNS)
    rows = [row for row, problem in zip(rows, problems) if not problem]
    unusable = []
    for row in tqdm(rows, desc="reading headers", file=sys.stderr, mininterval=10):
        row["sample_rate"], row["samples"], problem = _header(row["path"])
        row["duration"] = round(row["samples"] / row["sample_rate"], 6) if row["sample_rate"] else 0.0
        if problem:
            unusable.append(f"{row['row']}: {problem}")
    if unusable:
        print(f"manifest: warning: {len(unusable)} audio file(s) cannot be used; the shard jobs reject them with "
              f"the reason: {'; '.join(unusable[:5])}{' ...' if len(unusable) > 5 else ''}", file=sys.stderr)
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        raise CorpusError(f"no usable utterance in the corpus ({len(rejects)} rejected for their identifiers)")
    return frame.sort_values("utt_id", kind="stable").reset_index(drop=True), rejects


def _vctk_rows(root: str | Path, mic: str = "mic1") -> list[dict]:
    layout = vctk_layout()
    root = Path(root)
    audio_dir, text_dir = root / layout["audio_dir"], root / layout["text_dir"]
    if not audio_dir.is_dir():
        raise CorpusError(f"VCTK 0.92 not found: expected {audio_dir} (set corpus.root, or corpus.download: true)")
    rows = []
    for path in sorted(audio_dir.glob(f"*/*_{mic}.flac")):
        match = VCTK_FILE.fullmatch(path.name)
        if match is None:
            continue
        text_file = text_dir / match["spk"] / f"{match['utt']}.txt"
        text = text_file.read_text(encoding="utf-8-sig", errors="replace").strip() if text_file.exists() else ""
        rows.append({"row": str(path), "utt_id": match["utt"], "speaker": match["spk"], "path": str(path.resolve()),
                     "text": text})
    if not rows:
        raise CorpusError(f"no *_{mic}.flac files under {audio_dir}")
    return rows


def read_vctk(root: str | Path, mic: str = "mic1", on_invalid: str = "error") -> tuple[pd.DataFrame, pd.DataFrame]:
    return _finish(_vctk_rows(root, mic), on_invalid)


def _aishell3_transcripts(path: Path) -> dict[str, str]:
    """utt_id -> transcript of one part's content.txt (`SSB00050001.wav<TAB>text`); blank lines skipped."""
    if not path.is_file():
        return {}
    texts = {}
    for line in read_text(path).splitlines():
        name, _, text = line.partition("\t")
        if name.strip():
            texts[Path(name.strip()).stem] = " ".join(text.split())
    return texts


def _aishell3_rows(root: str | Path) -> list[dict]:
    """Both parts (train, test) of AISHELL-3; a wav whose name does not start with its folder's speaker is
    skipped, since utt_id and speaker are read from the name."""
    layout = aishell3_layout()
    root = Path(root)
    parts = [root / part for part in layout["parts"] if (root / part / layout["audio_dir"]).is_dir()]
    if not parts:
        expected = " or ".join(str(root / part / layout["audio_dir"]) for part in layout["parts"])
        raise CorpusError(f"AISHELL-3 not found: expected {expected} (set the corpus' root, or download: true)")
    rows = []
    for part in parts:
        texts = _aishell3_transcripts(part / layout["transcripts"])
        for path in sorted((part / layout["audio_dir"]).glob("*/*.wav")):
            match = AISHELL3_FILE.fullmatch(path.name)
            if match is None or match["spk"] != path.parent.name:
                continue
            rows.append({"row": str(path), "utt_id": match["utt"], "speaker": match["spk"],
                         "path": str(path.resolve()), "text": texts.get(match["utt"], "")})
    if not rows:
        raise CorpusError(f"no SSBxxxxnnnn.wav files under {', '.join(str(p / layout['audio_dir']) for p in parts)}")
    return rows


def read_aishell3(root: str | Path, on_invalid: str = "error") -> tuple[pd.DataFrame, pd.DataFrame]:
    return _finish(_aishell3_rows(root), on_invalid)


#: The corpora a run can list (`corpora[].name`): each one's reader of rows, given its root and the VCTK mic.
READERS = {"vctk": lambda root, mic: _vctk_rows(root, mic), "aishell3": lambda root, mic: _aishell3_rows(root)}


def read_corpora(roots: dict[str, str | Path], mic: str = "mic1", on_invalid: str = "error"
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Several corpora in one manifest, each row tagged with its corpus; identifiers are checked across all of
    them (a utt_id must be unique in the whole run, as it names files)."""
    unknown = [name for name in roots if name not in READERS]
    if unknown:
        raise CorpusError(f"corpora: unknown corpus {unknown[0]!r} (known: {', '.join(READERS)})")
    rows = [{**row, CORPUS_COLUMN: name} for name, root in roots.items() for row in READERS[name](root, mic)]
    return _finish(rows, on_invalid, [*MANIFEST_COLUMNS, CORPUS_COLUMN])


def download_aishell3(root: str | Path, url: str | None = None) -> Path:
    """Fetch `data_aishell3.tgz` beside `root` and extract it into `root`.

    No checksum is published, so the archive is `lock: true` under codecfake.weights' lock, kept beside it: the
    first download records its sha256, a later run checks the archive against that record, and an archive found
    with no record is never adopted (downloaded again). Extraction goes to a temporary sibling renamed to `root`
    when complete; members that would land outside it (absolute paths, `..`, links) are refused (tarfile's
    "data" filter)."""
    from codecfake.weights import LOCK_FILE, lock_record, write_record

    layout = aishell3_layout()
    root = Path(root)
    archive = root.parent / layout["archive_name"]
    spec = {"url": url or layout["url"], "lock": True}
    record = lock_record(archive.parent, archive, spec)
    if record is not None and archive.exists():
        verify(archive, record["sha256"], record.get("size"))
    else:
        delete(archive)  # a file with no record is not known to be what the source served
        download(spec["url"], archive)
        digest = verify(archive)
        if record is not None and record["sha256"] != digest:
            delete(archive)
            raise CorpusError(f"{spec['url']} now serves sha256 {digest}, not the {record['sha256']} recorded in "
                              f"{archive.parent / LOCK_FILE}; the download was deleted")
        write_record(archive.parent, archive, spec, None, digest)
    partial = root.with_name(root.name + ".extracting")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(archive) as handle:
        handle.extractall(partial, filter="data")
    inner = next((folder for folder in (partial, *sorted(partial.iterdir()))
                  if (folder / "train" / layout["audio_dir"]).is_dir()), None)
    if inner is None:
        raise CorpusError(f"{archive} holds no train/{layout['audio_dir']}/ folder: not the AISHELL-3 archive")
    inner.rename(root)
    shutil.rmtree(partial, ignore_errors=True)
    return root


def _user_records(path: Path, need: str) -> list[dict]:
    """A user manifest's rows as {"row", column: value...}: tab-separated, a header line first, quoting as in
    pandas' TSVs, blank lines skipped. A row with more or fewer fields than the header gets a "problem" naming the
    field that is missing or has no column, since a shifted row would otherwise blame the wrong one."""
    lines = [(number, fields) for number, fields in _numbered_rows(read_text(path)) if fields]
    if not lines:
        raise CorpusError(f"corpus.manifest {path} is empty: it needs {need}")
    header = lines[0][1]
    missing = [c for c in REQUIRED_USER_COLUMNS if c not in header]
    if missing:
        raise CorpusError(f"corpus.manifest {path}: missing column(s) {', '.join(missing)}; need {need}")
    if len(lines) == 1:
        raise CorpusError(f"corpus.manifest {path} has a header but no rows: it needs {need}")
    records = []
    for number, fields in lines[1:]:
        record = {"row": f"{path.name} line {number}", **dict(zip(header, fields)),
                  **{column: "" for column in header[len(fields):]}}
        if len(fields) < len(header):
            record["problem"] = (f"{len(fields)} fields where the header has {len(header)}: no "
                                 f"{header[len(fields)]!r} field")
        elif len(fields) > len(header):
            record["problem"] = (f"{len(fields)} fields where the header has {len(header)}: "
                                 f"{fields[len(header)]!r} after the {header[-1]!r} field has no column")
        records.append(record)
    return records


def _numbered_rows(text: str):
    """(line number, fields) per record of a TSV text, numbered by the record's first line (a quoted field may
    span lines; a blank line is a record without fields)."""
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def read_user_manifest(path: str | Path, on_invalid: str = "error") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user's TSV (at least utt_id, speaker, path; relative paths are relative to the manifest)."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"corpus.manifest: {path} does not exist")
    need = f"a header line with at least {', '.join(REQUIRED_USER_COLUMNS)} (tab-separated) and one row per utterance"
    rows = []
    for record in _user_records(path, need):
        audio = Path(record["path"])
        audio = audio if audio.is_absolute() else (path.parent / audio)
        rows.append({"row": record["row"], "utt_id": record["utt_id"], "speaker": record["speaker"],
                     "path": str(audio.resolve()) if record["path"] else "", "text": record.get("text", ""),
                     **({"problem": record["problem"]} if "problem" in record else {})})
    return _finish(rows, on_invalid)
