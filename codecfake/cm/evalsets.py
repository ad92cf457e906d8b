"""Labelled audio sets as trial tables (codecfake.cm.trials): CoRS, CoSG, ASVspoof 2019 LA, ASVspoof 5, folders.

Each reader takes the set's own published layout, so external sets are used as distributed:
  cors          our CoRS manifests (rule cors_protocol; paths relative to the results folder)
  cors_published  a published CoRS protocol (CoRS_ALL.txt `SPK UTT - - label`, or the 7-column taxonomy lists)
                with the flat audio folder it describes, <root>/<UTT>.wav or .flac (`all_data_16k/`); the codec
                of a spoof is the registry protocol name its UTT ends with, its taxonomy the registry's
  cosg          CodecFake+ CoSG: protocol lines `SYSTEM KEY - [VQ] label`, audio <root>/<SYSTEM>/<KEY>.wav;
                taxonomy per system from codecfake/resources/cosg_systems.tsv (paper Table IV)
Both CodecFake+ formats are read by codecfake.protocols.read_protocol (strict: a malformed line is an error).
  asvspoof2019  LA CM protocol lines `SPEAKER UTT - SYSTEM label` (SYSTEM `-` for bona fide), <root>/<UTT>.flac
  asvspoof5     protocol lines `SPEAKER FILE GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP`,
                <root>/<FILE>.flac
  folder        <root>/bonafide/**/*.{wav,flac} and <root>/spoof/**: files under spoof/<NAME>/ are system NAME
  codecfake     Codecfake (Xie et al.) as published: label/<part>.txt `<file> real|fake <method>` with train/,
                dev/ and test/<C>/ audio (codecfake.codecfake_layout); `parts` picks train, dev or test
                conditions (default: every test condition present); the condition is the fakes' system
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd

from codecfake import codecfake_layout, registry
from codecfake.cm.trials import SHARED_BONAFIDE, TRIAL_COLUMNS, check_trials
from codecfake.cosg.systems import cosg_systems
from codecfake.errors import UserError
from codecfake.protocols import read_protocol
from codecfake.tables import read_text, read_tsv

FORMATS = ("cors", "cors_published", "cosg", "asvspoof2019", "asvspoof5", "folder", "codecfake")
AUDIO_SUFFIXES = (".wav", ".flac")
UNKNOWN = "-"


class EvalSetError(UserError):
    pass


def _frame(rows: list[dict], what: str) -> pd.DataFrame:
    if not rows:
        raise EvalSetError(f"{what}: no trials")
    return check_trials(pd.DataFrame(rows, columns=TRIAL_COLUMNS), what)


def _check_audio(table: pd.DataFrame, what: str) -> pd.DataFrame:
    missing = [p for p in table["path"] if not Path(p).is_file()]
    if missing:
        raise EvalSetError(f"{what}: {len(missing)} of {len(table)} audio files are missing, e.g. {missing[0]}")
    return table


def _protocol_lines(protocol: str | Path, min_fields: int, what: str) -> list[list[str]]:
    path = Path(protocol)
    if not path.is_file():
        raise EvalSetError(f"{what}: protocol {path} does not exist")
    lines = [line.split() for line in read_text(path).splitlines() if line.strip()]
    short = [i for i, fields in enumerate(lines, 1) if len(fields) < min_fields]
    if short:
        raise EvalSetError(f"{what}: {path} line {short[0]} has fewer than {min_fields} fields")
    return lines


def _label(token: str, what: str) -> str:
    if token not in ("bonafide", "spoof"):
        raise EvalSetError(f"{what}: label must be bonafide or spoof, found {token!r}")
    return token


def cors(manifest: str | Path, results_dir: str | Path, domain: str = "CoRS") -> pd.DataFrame:
    frame = read_tsv(manifest)
    rows = [{"utt_id": r["utt_id"], "path": str((Path(results_dir) / r["path"]).resolve()), "label": r["label"],
             "speaker": r["speaker"], "source_utt": r["source_utt"],
             "system": SHARED_BONAFIDE if r["label"] == "bonafide" else r["subset"],
             "QUA": r["VQ"], "AUX": r["AUX"], "DEC": r["DEC"], "domain": domain} for r in frame.to_dict("records")]
    return _frame(rows, f"CoRS manifest {manifest}")


def cosg(root: str | Path, protocol: str | Path, domain: str = "CoSG") -> pd.DataFrame:
    what = f"CoSG protocol {protocol}"
    systems = cosg_systems()
    rows = []
    for line in read_protocol(protocol).itertuples():
        system, key, label = line.speaker, line.utt_id, line.label
        if system not in systems.index:
            raise EvalSetError(f"{what}: unknown CoSG system {system!r}; codecfake/resources/cosg_systems.tsv lists "
                               f"{', '.join(systems.index)}")
        taxonomy = ({a: registry.protocol_labels()["bonafide"] for a in registry.TAXONOMY_FIELDS}
                    if label == "bonafide" else {a: systems.at[system, a] for a in registry.TAXONOMY_FIELDS})
        rows.append({"utt_id": f"{system}/{key}", "path": str(Path(root, system, f"{key}.wav").resolve()),
                     "label": label, "speaker": system, "source_utt": key, "system": system, **taxonomy,
                     "domain": domain})
    return _check_audio(_frame(rows, what), what)


def _flat_audio(root: Path, utt: str) -> Path:
    """<root>/<utt>.wav, else .flac (the published all_data_16k/ folder is flat)."""
    for suffix in AUDIO_SUFFIXES:
        candidate = root / f"{utt}{suffix}"
        if candidate.is_file():
            return candidate
    return root / f"{utt}{AUDIO_SUFFIXES[0]}"


def cors_published(root: str | Path, protocol: str | Path, domain: str = "CoRS") -> pd.DataFrame:
    """A published CoRS protocol plus its flat audio folder as trials; codecs and taxonomy from the registry."""
    what = f"CoRS protocol {protocol}"
    root = Path(root)
    entries = registry.codecs()
    names = sorted(entries, key=len, reverse=True)  # longest first: vocos_encodec_12 before a shorter suffix
    rows = []
    for line in read_protocol(protocol).itertuples():
        utt, label = line.utt_id, line.label
        if label == "bonafide":
            source, system, taxonomy = utt, SHARED_BONAFIDE, registry.protocol_taxonomy(None)
        else:
            codec = next((name for name in names if utt.endswith(f"_{name}")), None)
            if codec is None:
                raise EvalSetError(f"{what}: spoof {utt!r} ends with no registered codec's protocol name")
            source, system, taxonomy = utt[: -len(codec) - 1], codec, registry.protocol_taxonomy(entries[codec])
        rows.append({"utt_id": utt, "path": str(_flat_audio(root, utt).resolve()), "label": label,
                     "speaker": line.speaker, "source_utt": source, "system": system, "QUA": taxonomy["VQ"],
                     "AUX": taxonomy["AUX"], "DEC": taxonomy["DEC"], "domain": domain})
    return _check_audio(_frame(rows, what), what)


def _external_row(utt: str, path: Path, label: str, speaker: str, system: str, domain: str) -> dict:
    taxonomy = "REAL" if label == "bonafide" else UNKNOWN
    return {"utt_id": utt, "path": str(path.resolve()), "label": label, "speaker": speaker, "source_utt": utt,
            "system": SHARED_BONAFIDE if label == "bonafide" else system, "QUA": taxonomy, "AUX": taxonomy,
            "DEC": taxonomy, "domain": domain}


def asvspoof2019(root: str | Path, protocol: str | Path, domain: str = "ASVspoof2019") -> pd.DataFrame:
    what = f"ASVspoof 2019 protocol {protocol}"
    rows = [_external_row(f[1], Path(root, f"{f[1]}.flac"), _label(f[4], what), f[0], f[3], domain)
            for f in _protocol_lines(protocol, 5, what)]
    return _check_audio(_frame(rows, what), what)


def asvspoof5(root: str | Path, protocol: str | Path, domain: str = "ASVspoof5") -> pd.DataFrame:
    what = f"ASVspoof 5 protocol {protocol}"
    rows = []
    for fields in _protocol_lines(protocol, 5, what):
        keys = [i for i, token in enumerate(fields) if token in ("bonafide", "spoof") and i >= 2]
        if not keys:
            raise EvalSetError(f"{what}: no bonafide/spoof key in line {' '.join(fields)!r}")
        key = keys[-1]
        rows.append(_external_row(fields[1], Path(root, f"{fields[1]}.flac"), fields[key], fields[0],
                                  fields[key - 1], domain))
    return _check_audio(_frame(rows, what), what)


def folder(root: str | Path, domain: str = "folder") -> pd.DataFrame:
    root = Path(root)
    what = f"labelled folder {root}"
    if not (root / "bonafide").is_dir() and not (root / "spoof").is_dir():
        raise EvalSetError(f"{what}: expected bonafide/ and spoof/ folders")
    rows = []
    for label in ("bonafide", "spoof"):
        base = root / label
        for path in sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
            relative = path.relative_to(base)
            system = relative.parts[0] if len(relative.parts) > 1 else "spoof"
            utt = str(path.relative_to(root).with_suffix(""))
            rows.append(_external_row(utt, path, label, UNKNOWN, system, domain))
    return _frame(rows, what)


#: The speaker at the start of a Codecfake utterance name: VCTK `p225_001`, AISHELL-3 `SSB00050001`.
CODECFAKE_SPEAKER = re.compile(r"(p\d+|s\d+)_|(SSB\d{4})\d{4}")


def _without_absent_alm_reals(rows: pd.DataFrame, part: str, what: str) -> pd.DataFrame:
    """A3's reals are AudioCaps files, which Codecfake does not distribute: where they are absent, A3 is left out
    (its fakes alone give no EER) with a message, and every other part stays usable."""
    if part != "A3":
        return rows
    absent = rows[(rows["label"] == codecfake_layout.REAL) & ~rows["path"].map(lambda p: Path(p).is_file())]
    if absent.empty:
        return rows
    print(f"{what}: A3 left out: {len(absent)} of its real files are absent, e.g. {absent['path'].iloc[0]} "
          f"(AudioCaps, not distributed with Codecfake: put the AudioCaps clips named in label/A3.txt in A3's "
          f"folder to score A3); the other parts are read", file=sys.stderr)
    return rows.iloc[0:0]


def codecfake(root: str | Path, parts: list[str] | None = None, domain: str = "Codecfake") -> pd.DataFrame:
    """Codecfake's label files and audio folders as trials; reals shared by its codec test sets are one trial."""
    what = f"Codecfake layout {root}"
    parts = parts or codecfake_layout.test_parts(root)
    if not parts:
        raise EvalSetError(f"{what}: no label/<condition>.txt (C1-C7, C3-x, C4-x, A1-A3) found")
    rows, seen = [], set()
    for part in parts:
        table = _without_absent_alm_reals(codecfake_layout.read_labels(root, part), part, what)
        for record in table.to_dict("records"):
            real = record["label"] == codecfake_layout.REAL
            shared = real and part not in codecfake_layout.ALM
            group = "test" if part in codecfake_layout.CONDITIONS else part
            utt = f"{group}/{record['file']}" if shared else f"{part}/{record['file']}"
            if utt in seen:
                continue
            seen.add(utt)
            source = codecfake_layout.utterance(record["file"], record["condition"])
            speaker = CODECFAKE_SPEAKER.match(source)
            taxonomy = "REAL" if real else UNKNOWN
            rows.append({"utt_id": utt, "path": record["path"], "label": "bonafide" if real else "spoof",
                         "speaker": next(filter(None, speaker.groups())) if speaker else UNKNOWN,
                         "source_utt": source,
                         "system": SHARED_BONAFIDE if shared else (part if real else record["condition"]),
                         "QUA": taxonomy, "AUX": taxonomy, "DEC": taxonomy, "domain": domain})
    return _check_audio(_frame(rows, what), what)


def load(name: str, spec: dict, results_dir: str | Path | None = None) -> pd.DataFrame:
    """The trial table of a configured set {format, root, protocol} (cors: {format, manifest})."""
    fmt = spec.get("format")
    if fmt in ("cors_published", "cosg", "asvspoof2019", "asvspoof5") and not spec.get("protocol"):
        raise EvalSetError(f"data set {name}: format {fmt} needs `protocol` (the published protocol file)")
    if fmt == "cors":
        return cors(spec["manifest"], results_dir, domain=spec.get("domain", "CoRS"))
    if fmt == "cors_published":
        return cors_published(spec["root"], spec["protocol"], domain=name)
    if fmt == "cosg":
        return cosg(spec["root"], spec["protocol"], domain=name)
    if fmt == "asvspoof2019":
        return asvspoof2019(spec["root"], spec["protocol"], domain=name)
    if fmt == "asvspoof5":
        return asvspoof5(spec["root"], spec["protocol"], domain=name)
    if fmt == "folder":
        return folder(spec["root"], domain=name)
    if fmt == "codecfake":
        return codecfake(spec["root"], spec.get("parts"), domain=name)
    raise EvalSetError(f"data set {name}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def fetch_archive(url: str, dest: str | Path, sha256: str | None = None) -> Path:
    """Download a published archive (zip or tar; checksum, resume) and unpack it as `dest`.

    An archive that wraps everything in one top folder (CoSG/VALLE/..., say) has that folder become `dest`, so
    `root` is always the folder holding the systems' folders.
    """
    from codecfake.download import download

    dest = Path(dest)
    if dest.exists():
        raise EvalSetError(f"{dest} already exists; remove it to unpack the archive again")
    archive = download(url, dest.parent / url.rstrip("/").rsplit("/", 1)[-1].split("?")[0], sha256=sha256)
    staging = dest.with_name(dest.name + ".unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(staging)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as handle:
            handle.extractall(staging, filter="data")
    else:
        raise EvalSetError(f"{archive}: neither a zip nor a tar archive")
    entries = list(staging.iterdir())
    os.replace(entries[0] if len(entries) == 1 and entries[0].is_dir() else staging, dest)
    shutil.rmtree(staging, ignore_errors=True)
    return dest
