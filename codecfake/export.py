"""The CoRS results in the forms the ecosystem loads, written beside the CodecFake+ tree and protocols.

Researchers get anti-spoofing corpora as audio + protocol text (which the workflow writes), through Hugging Face
`datasets`, or as Kaldi-style lists. `export` adds, under results_dir:
  metadata.csv        `audiofolder`: one row per protocol line (train, dev, eval, in protocol order); `file_name`
                      relative to the file, then the protocol's fields and the manifest's (source_utt, subset...)
  data/{split}-NNNNN-of-NNNNN.parquet
                      `parquet`: the same rows with the audio embedded ({bytes, path}), the Audio feature declared
                      in the schema, so `load_dataset(results_dir)` reads the splits the card's `configs` name
  kaldi/{split}/      `kaldi`: wav.scp (absolute paths), utt2lab, utt2spk, spk2utt, utt2codec, sorted by utt_id
  README.md           the dataset card (codecfake.dataset_card): licences, codecs and weights, provenance
The rows come from the protocols (read with codecfake.protocols.read_protocol) joined to their manifests by
utt_id; a protocol line without a manifest row or an existing file is an error, not a dropped row.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd

from codecfake.corpus import CORPUS_COLUMN
from codecfake.dataset_card import write_card
from codecfake.errors import UserError
from codecfake.paths import inside_results
from codecfake.protocols import PROTOCOL_COLUMNS, read_protocol
from codecfake.split import SPLITS
from codecfake.tables import atomic_output, read_tsv, write_text_atomic

FORMATS = ("audiofolder", "parquet", "kaldi")
#: `codecfake export`'s default: what the core packages write (parquet needs pyarrow). In a run, `export.formats`.
DEFAULT_FORMATS = ("audiofolder", "kaldi")
ROWS_PER_SHARD = 1000
#: The manifest's columns carried into the export beside the protocol's (and `corpus`, in a run over several).
MANIFEST_FIELDS = ["source_utt", "subset", "codec_id", "family", "weights"]
COLUMNS = ["file_name", "split", *PROTOCOL_COLUMNS[:2], *MANIFEST_FIELDS, *PROTOCOL_COLUMNS[2:]]
KALDI_LISTS = ("wav.scp", "utt2lab", "utt2spk", "spk2utt", "utt2codec")


class ExportError(UserError):
    pass


def _split_rows(root: Path, split: str) -> pd.DataFrame:
    """The split's protocol lines (read_protocol), in their order, with their manifest rows' fields."""
    protocol = read_protocol(root / "protocols" / f"CoRS_{split}.txt")
    manifest_path = root / "manifests" / f"cors_{split}.tsv"
    if not manifest_path.is_file():
        raise ExportError(f"export: {manifest_path} does not exist; run the workflow's protocol step first")
    manifest = read_tsv(manifest_path).set_index("utt_id")
    if not manifest.index.is_unique:
        raise ExportError(f"export: {manifest_path} lists utt_id {manifest.index[manifest.index.duplicated()][0]!r} "
                          f"twice")
    missing = protocol.loc[~protocol["utt_id"].isin(manifest.index), "utt_id"]
    if len(missing):
        raise ExportError(f"export: {missing.iloc[0]!r} of CoRS_{split}.txt has no row in {manifest_path}")
    found = manifest.loc[protocol["utt_id"]]
    fields = MANIFEST_FIELDS + ([CORPUS_COLUMN] if CORPUS_COLUMN in manifest.columns else [])
    frame = protocol.assign(split=split, file_name=found["path"].to_numpy(),
                            **{c: found[c].to_numpy() for c in fields})
    return frame[COLUMNS + fields[len(MANIFEST_FIELDS):]]


def rows(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Every protocol line of every split as one row (COLUMNS), in protocol order; each file exists under
    results_dir (a manifest path leading outside it is refused before anything reads it)."""
    root = Path(results_dir)
    table = pd.concat([_split_rows(root, split) for split in SPLITS], ignore_index=True)
    for name in table["file_name"]:
        path = inside_results(root, root / name)
        if Path(name).is_absolute() or not path.is_file():
            raise ExportError(f"export: {name!r} is not an existing file under {root} (relative to it)")
    return table


def write_metadata(table: pd.DataFrame, root: Path) -> Path:
    out = root / "metadata.csv"
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    write_text_atomic(buffer.getvalue(), out)
    return out


def _kaldi_lines(pairs) -> str:
    return "".join(f"{key} {value}\n" for key, value in sorted(pairs))


def write_kaldi(table: pd.DataFrame, root: Path) -> list[Path]:
    """Kaldi data dirs per split. Kaldi tools need lists sorted by key; utt_ids begin with the speaker, as
    utt2spk sorting requires. wav.scp holds absolute paths (Kaldi reads them from the recipe's folder)."""
    written = []
    for split, part in table.groupby("split", sort=False):
        folder = root / "kaldi" / split
        speakers = part.groupby("speaker")["utt_id"].apply(lambda u: " ".join(sorted(u)))
        lists = {"wav.scp": zip(part["utt_id"], [str((root / f).resolve()) for f in part["file_name"]]),
                 "utt2lab": zip(part["utt_id"], part["label"]), "utt2spk": zip(part["utt_id"], part["speaker"]),
                 "spk2utt": speakers.items(), "utt2codec": zip(part["utt_id"], part["subset"])}
        for name in KALDI_LISTS:
            write_text_atomic(_kaldi_lines(lists[name]), folder / name)
            written.append(folder / name)
    return written


def _features(columns: list[str]) -> dict:
    """The `datasets` features of a shard, declared in its schema so the audio column loads as Audio."""
    features = {"audio": {"_type": "Audio"}}
    features.update({c: {"dtype": "string", "_type": "Value"} for c in columns if c != "file_name"})
    return {"info": {"features": features}}


def write_parquet(table: pd.DataFrame, root: Path, rows_per_shard: int) -> list[Path]:
    """`data/{split}-{i:05d}-of-{n:05d}.parquet` (the Hub's shard names) with the audio bytes embedded; shards of
    an earlier export that this one does not rewrite are removed, so the folder holds one export."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = root / "data"
    written = []
    for split, part in table.groupby("split", sort=False):
        count = -(-len(part) // rows_per_shard)
        for index in range(count):
            chunk = part.iloc[index * rows_per_shard:(index + 1) * rows_per_shard]
            audio = [{"bytes": (root / name).read_bytes(), "path": name} for name in chunk["file_name"]]
            columns = {"audio": audio, **{c: chunk[c].tolist() for c in table.columns if c != "file_name"}}
            metadata = {"huggingface": json.dumps(_features(list(table.columns)))}
            arrow = pa.Table.from_pydict(columns).replace_schema_metadata(metadata)
            out = folder / f"{split}-{index:05d}-of-{count:05d}.parquet"
            with atomic_output(out) as tmp:
                pq.write_table(arrow, tmp)
            written.append(out)
    for stale in set(folder.glob("*-of-*.parquet")) - set(written):
        stale.unlink()
    return written


def export(results_dir: str | os.PathLike, formats=DEFAULT_FORMATS, corpus: str | None = None,
           rows_per_shard: int = ROWS_PER_SHARD) -> dict[str, list[Path]]:
    """Write the requested formats and the dataset card; returns the files written per format. corpus: the
    source corpus the card names (a key of codecfake/resources/licences.yaml); None: the manifests' corpus column, else
    unknown."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ExportError(f"export: unknown format {unknown[0]!r}; one of {', '.join(FORMATS)}")
    if rows_per_shard < 1:
        raise ExportError(f"export: {rows_per_shard} rows per parquet shard; at least 1")
    root = Path(results_dir)
    table = rows(root)
    written: dict[str, list[Path]] = {}
    if "audiofolder" in formats:
        written["audiofolder"] = [write_metadata(table, root)]
    if "parquet" in formats:
        written["parquet"] = write_parquet(table, root, rows_per_shard)
    if "kaldi" in formats:
        written["kaldi"] = write_kaldi(table, root)
    shards = [p.relative_to(root).as_posix() for p in written.get("parquet", [])]
    written["card"] = [write_card(table, root, corpus, shards)]
    return written
