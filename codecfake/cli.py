"""The `codecfake` command.

User commands: `codecs` (the registry), `detect` and `trace` (audio files), `export` (a results folder in the
forms other tools load), `fetch ...` (checkpoints, data sets and the corpus, ahead of a run) and `check ...` (env
files, a rendered report). `step ...` are the workflow's steps, called by the rules (one per rule; their arguments
follow the rules, not a user's convenience). Rules stay thin (inputs, outputs, env, one call here); each step is
one function of the package.
"""
from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace


def cmd_demo_corpus(args) -> None:
    from codecfake.demo import make_corpus

    count = make_corpus(args.out, args.speakers, args.utterances, args.min_seconds, args.max_seconds, args.seed,
                        args.layout)
    print(f"demo corpus: {count} utterances of {len(args.speakers)} speakers under {args.out} ({args.layout} "
          f"layout)", file=sys.stderr)


def cmd_fetch_vctk(args) -> None:
    from codecfake.corpus import download_vctk

    download_vctk(args.root, args.url, args.sha256)


def cmd_fetch_aishell3(args) -> None:
    from codecfake.corpus import download_aishell3

    download_aishell3(args.root, args.url)


def _named_roots(pairs: list[str]) -> dict[str, str]:
    """`--corpus NAME=ROOT` arguments as {name: root}, in order; a name given twice is an error."""
    from codecfake.corpus import CorpusError

    roots: dict[str, str] = {}
    for pair in pairs:
        name, sep, root = pair.partition("=")
        if not sep or not root or name in roots:
            raise CorpusError(f"--corpus {pair!r}: expected NAME=ROOT, each corpus once")
        roots[name] = root
    return roots


def cmd_manifest(args) -> None:
    from codecfake.corpus import read_corpora, read_user_manifest, read_vctk
    from codecfake.tables import write_tsv_atomic

    if args.user_manifest:
        frame, rejects = read_user_manifest(args.user_manifest, args.invalid_ids)
    elif args.corpus:
        frame, rejects = read_corpora(_named_roots(args.corpus), args.mic, args.invalid_ids)
    else:
        frame, rejects = read_vctk(args.vctk, args.mic, args.invalid_ids)
    write_tsv_atomic(rejects, args.rejects)
    write_tsv_atomic(frame, args.out)
    print(f"manifest: {len(frame)} utterances, {frame['speaker'].nunique()} speakers; {len(rejects)} rows rejected "
          f"for their identifiers", file=sys.stderr)


def cmd_split(args) -> None:
    import json

    from codecfake.split import SplitError, assign_splits, split_corpora
    from codecfake.tables import read_tsv, write_tsv_atomic

    manifest = read_tsv(args.manifest)
    if args.corpus_rule:
        rules = {rule.pop("corpus"): rule for rule in map(json.loads, args.corpus_rule)}
        parts = split_corpora(manifest, rules)
    elif args.dev and args.eval:
        parts = assign_splits(manifest, args.dev, args.eval)
    else:
        raise SplitError("split: give --dev and --eval speakers, or one --corpus-rule per corpus")
    outs = {"train": args.train_out, "dev": args.dev_out, "eval": args.eval_out}
    for name, part in parts.items():
        write_tsv_atomic(part.assign(split=name), outs[name])
        print(f"split {name}: {len(part)} utterances, {part['speaker'].nunique()} speakers", file=sys.stderr)


def cmd_bonafide(args) -> None:
    from codecfake.resynth import run_bonafide_shard

    stats = run_bonafide_shard(args.split_manifest, args.shard, args.results_dir, args.table, args.rejects,
                               args.format)
    print(stats.summary(f"bonafide {args.shard}"), file=sys.stderr)


def cmd_resynth(args) -> None:
    import torch

    from codecfake import codec_loading
    from codecfake.device import pick_device
    from codecfake.resynth import run_codec_shard

    torch.set_num_threads(args.threads)
    codec = codec_loading.load(args.codec, device=str(pick_device(args.device)), weights=args.weights,
                                weights_dir=args.weights_dir, seed=args.seed)
    stats = run_codec_shard(args.split_manifest, args.shard, codec, args.results_dir, args.table, args.rejects,
                            args.format, batch_seconds=args.batch_seconds, batch_items=args.batch_items,
                            chunk_seconds=args.chunk_seconds)
    print(stats.summary(f"{args.codec} {args.shard}"), file=sys.stderr)


def cmd_protocol(args) -> None:
    from codecfake.protocols import summarize, write_split

    manifest = write_split(args.bonafide_tables, args.codec_tables, args.codecs, args.rejects_tables,
                           args.protocol, args.manifest, args.rejects)
    print(summarize(manifest, args.rejects, args.split), file=sys.stderr)


def cmd_codecs(args) -> None:
    from codecfake.registry import codecfake_plus_set, codecs

    table = codecs()
    shown = list(table) if args.all else [name for name in codecfake_plus_set() if name in table]
    columns = ["protocol_name", "id", "family", "config", "QUA", "AUX", "DEC", "sample_rate", "env", "importable"]
    rows = [[e.protocol_name, e.id, e.family, e.config, e.QUA, e.AUX, e.DEC, str(e.sample_rate), e.env,
             str(e.importable()).lower()] for e in (table[name] for name in shown)]
    if args.format == "tsv":
        print("\t".join(columns))
        for row in rows:
            print("\t".join(row))
    else:
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
        for row in [columns, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def cmd_concat(args) -> None:
    """Tables with the same columns, one after another, values kept verbatim (the one "concatenate" step)."""
    import pandas as pd

    from codecfake.tables import read_tsv, write_tsv_atomic

    write_tsv_atomic(pd.concat([read_tsv(path) for path in args.tables], ignore_index=True), args.out)


def cmd_export(args) -> None:
    from codecfake.export import export

    written = export(args.results_dir, args.formats, args.corpus, args.parquet_rows)
    for name, paths in written.items():
        print(f"export {name}: {len(paths)} file(s), e.g. {paths[0]}" if paths else f"export {name}: none",
              file=sys.stderr)


def print_fetched(entry, weights_dir) -> None:
    """Fetch and verify an entry's checkpoints (a codec's or a generator's), one line each on stdout: the
    checksums table a fetch rule writes (name, key, path, commit, sha256)."""
    from codecfake import weights

    for key, record in weights.fetch(entry, weights_dir).items():
        path = weights.local_path(entry, entry.weights[key], weights_dir)
        print(f"{entry.protocol_name}\t{key}\t{path}\t{record['commit'] or '-'}\t{record['sha256']}")


def cmd_fetch_codec_weights(args) -> None:
    from codecfake import registry

    for name in args.codecs:
        print_fetched(registry.get(name), args.weights_dir)


def register(commands: SimpleNamespace) -> None:
    """The corpus and data steps, `codecs`, `export`, `fetch codec-weights`, `fetch vctk` and `fetch aishell3`."""
    top, step, fetch = commands.top, commands.step, commands.fetch
    p = step.add_parser("demo-corpus", help="write a synthetic demo corpus (VCTK or AISHELL-3 layout)")
    p.add_argument("--out", required=True)
    p.add_argument("--layout", default="vctk", choices=["vctk", "aishell3"])
    p.add_argument("--speakers", nargs="+", required=True)
    p.add_argument("--utterances", type=int, required=True)
    p.add_argument("--min-seconds", type=float, required=True)
    p.add_argument("--max-seconds", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.set_defaults(func=cmd_demo_corpus)

    p = fetch.add_parser("vctk", help="download and extract VCTK 0.92 (resumable, sha256-checked)")
    p.add_argument("--root", required=True, help="the corpus folder to create (corpus.root)")
    p.add_argument("--url", help="default: codecfake/resources/vctk.yaml")
    p.add_argument("--sha256", help="default: codecfake/resources/vctk.yaml")
    p.set_defaults(func=cmd_fetch_vctk)

    p = fetch.add_parser("aishell3", help="download and extract AISHELL-3 (OpenSLR 93; sha256 locked at first "
                                          "download, since none is published)")
    p.add_argument("--root", required=True, help="the corpus folder to create (corpora[].root)")
    p.add_argument("--url", help="default: codecfake/resources/aishell3.yaml")
    p.set_defaults(func=cmd_fetch_aishell3)

    p = step.add_parser("corpus-manifest", help="corpus -> manifest TSV")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--vctk")
    source.add_argument("--user-manifest")
    source.add_argument("--corpus", action="append", metavar="NAME=ROOT",
                        help="one per corpus of a several-corpus run (vctk, aishell3); rows get a corpus column")
    p.add_argument("--mic", default="mic1", choices=["mic1", "mic2"])
    p.add_argument("--invalid-ids", required=True, choices=["error", "reject"],
                   help="a row with an unsafe, duplicate or colliding utt_id/speaker: stop, or list it in --rejects")
    p.add_argument("--out", required=True)
    p.add_argument("--rejects", required=True, help="TSV of the rows left out, with the reason")
    p.set_defaults(func=cmd_manifest)

    p = step.add_parser("split-speakers", help="train/dev/eval manifests (by speaker, or per corpus by its rule)")
    p.add_argument("--manifest", required=True)
    p.add_argument("--dev", nargs="+", help="dev speakers (split by speaker of a single corpus)")
    p.add_argument("--eval", nargs="+", help="eval speakers (split by speaker of a single corpus)")
    p.add_argument("--corpus-rule", action="append", metavar="JSON",
                   help="one per corpus: its validated corpora[].split entry plus its name as \"corpus\"")
    for split in ("train", "dev", "eval"):
        p.add_argument(f"--{split}-out", required=True, help=f"the {split} manifest to write")
    p.set_defaults(func=cmd_split)

    for name, func, help_text in (("bonafide-16k", cmd_bonafide, "bona fide shard -> 16 kHz"),
                                  ("resynthesize", cmd_resynth, "codec resynthesis of one shard")):
        p = step.add_parser(name, help=help_text)
        p.add_argument("--split-manifest", required=True)
        p.add_argument("--shard", required=True, help="like 007of064")
        p.add_argument("--results-dir", required=True)
        p.add_argument("--table", required=True)
        p.add_argument("--rejects", required=True)
        # No defaults of their own: the config's (config.schema.yaml) reach the step through its rule.
        p.add_argument("--format", required=True, choices=["wav", "flac"])
        p.set_defaults(func=func)
        if name == "resynthesize":
            p.add_argument("--codec", required=True)
            p.add_argument("--weights", required=True, choices=["pretrained", "random"])
            p.add_argument("--weights-dir", required=True)
            p.add_argument("--device", required=True)
            p.add_argument("--seed", type=int, required=True)
            p.add_argument("--batch-seconds", type=float, required=True)
            p.add_argument("--batch-items", type=int, required=True)
            p.add_argument("--chunk-seconds", type=float, required=True)
            p.add_argument("--threads", type=int, required=True)

    p = step.add_parser("cors-protocol", help="CoRS protocol + manifest of one split from its subset tables")
    p.add_argument("--split", required=True)
    p.add_argument("--codecs", nargs="*", default=[])
    p.add_argument("--bonafide-tables", nargs="+", required=True)
    p.add_argument("--codec-tables", nargs="*", default=[])
    p.add_argument("--rejects-tables", nargs="*", default=[])
    p.add_argument("--protocol", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--rejects", required=True)
    p.set_defaults(func=cmd_protocol)

    p = top.add_parser("codecs", help="the codec registry, with whether each family imports here")
    p.add_argument("--format", default="table", choices=["table", "tsv"])
    p.add_argument("--all", action="store_true",
                   help="every registered configuration, not only the paper's 31 CoRS configurations (the default)")
    p.set_defaults(func=cmd_codecs)

    from codecfake.export import DEFAULT_FORMATS, FORMATS, ROWS_PER_SHARD

    p = top.add_parser("export", help="metadata.csv (Hugging Face AudioFolder), parquet shards, Kaldi lists and a "
                                      "dataset card, beside a results folder's CodecFake+ tree and protocols")
    p.add_argument("results_dir", help="a workflow's results_dir (holding protocols/, manifests/, audio/)")
    p.add_argument("--formats", nargs="+", default=list(DEFAULT_FORMATS), choices=FORMATS)
    p.add_argument("--corpus", default=None,
                   help="the source corpus, for the card's licence: a key of codecfake/resources/licences.yaml "
                        "(vctk, ...); default: the manifests' corpus column (a run over several corpora), else unknown")
    p.add_argument("--parquet-rows", type=int, default=ROWS_PER_SHARD, help="rows per parquet shard")
    p.set_defaults(func=cmd_export)

    p = fetch.add_parser("codec-weights", help="download, verify and lock codec checkpoints ahead of a run")
    p.add_argument("--codecs", nargs="+", required=True)
    p.add_argument("--weights-dir", default="weights")
    p.set_defaults(func=cmd_fetch_codec_weights)

    p = step.add_parser("concat", help="tables with the same columns, one after another")
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_concat)


def build_parser() -> argparse.ArgumentParser:
    from codecfake import codecfake_cli, detect, envcheck
    from codecfake.cm import cli as cm_cli
    from codecfake.cosg import cli as cosg_cli
    from codecfake.quality import cli as quality_cli
    from codecfake.trace import cli as trace_cli

    parser = argparse.ArgumentParser(prog="codecfake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    top = parser.add_subparsers(dest="command", required=True, metavar="{codecs,detect,trace,export,fetch,check,step}")
    groups = {"fetch": "download and verify what a run needs, ahead of it (the fetch_* rules call these)",
              "check": "check env files or a rendered report",
              "step": "the workflow's steps, one per rule (internal: called by rules/*.smk)"}
    commands = SimpleNamespace(top=top)
    for name, help_text in groups.items():
        group = top.add_parser(name, help=help_text, description=help_text)
        setattr(commands, name, group.add_subparsers(dest="subcommand", required=True))
    for module in (sys.modules[__name__], cm_cli, cosg_cli, quality_cli, trace_cli, envcheck, detect, codecfake_cli):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from codecfake.errors import UserError, exit_on_sigterm

    exit_on_sigterm()
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as err:
        command = " ".join(filter(None, (args.command, getattr(args, "subcommand", None))))
        print(f"codecfake {command}: error: {err}", file=sys.stderr)
        return 2
    return 0
