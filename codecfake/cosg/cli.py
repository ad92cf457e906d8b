"""The CoSG steps (`codecfake step cosg-*`, one per rule of rules/cosg.smk), registered by codecfake/cli.py."""
from __future__ import annotations

import json
import sys


def cmd_fetch_weights(args) -> None:
    from codecfake import generator_registry
    from codecfake.cli import print_fetched

    for name in args.generators:
        print_fetched(generator_registry.get(name), args.weights_dir)


def cmd_prompts(args) -> None:
    from codecfake.cosg.prompts import corpus_prompts, e2_prompts, write_prompts

    if args.e2_list:
        frame = e2_prompts(args.e2_list, args.e2_root, args.language, args.max_prompts)
    else:
        frame = corpus_prompts(args.split_manifest, args.split, args.language, args.max_prompts)
    write_prompts(frame, args.out)


def cmd_generate(args) -> None:
    import torch

    from codecfake.cosg.generate import load_generator, run_generation_shard
    from codecfake.cosg.plan import set_root

    torch.set_num_threads(args.threads)
    generator = load_generator(args.generator, args.weights, args.seed, args.device, args.weights_dir)
    stats = run_generation_shard(args.prompts, args.shard, generator, args.generator, args.system, args.results_dir,
                                 set_root(args.results_dir, args.set), args.table, args.rejects, args.weights,
                                 args.batch_items)
    print(stats.summary(f"{args.set} {args.shard}"), file=sys.stderr)


def cmd_protocol(args) -> None:
    from codecfake.cosg.protocol import write_split

    write_split(args.tables, args.rejects_tables, args.system, args.protocol, args.manifest, args.rejects)


def cmd_card(args) -> None:
    from codecfake.cosg.protocol import write_card

    record = write_card(args.out, cosg_set=args.set, split=args.split, system=args.system, generator=args.generator,
                        weights=args.weights, env_file=args.env_file, config=json.loads(args.config_json),
                        manifest=args.manifest, rejects=args.rejects)
    print(f"provenance {args.set}/{args.split}: {record['rows']['spoof']} spoof files, weights {args.weights}",
          file=sys.stderr)


def cmd_utmos(args) -> None:
    import torch

    from codecfake.cosg.quality import utmos_table
    from codecfake.device import pick_device
    from codecfake.quality.cli import utmos_model

    torch.set_num_threads(args.threads)
    model, label = utmos_model(args)
    frame = utmos_table(args.manifest, args.results_dir, model, label, args.out, device=str(pick_device(args.device)),
                        batch_items=args.batch_items, batch_seconds=args.batch_seconds)
    print(f"utmos {args.manifest}: {len(frame)} files, mean {frame['utmos'].mean():.3f} ({label})", file=sys.stderr)


def cmd_utmos_summary(args) -> None:
    from codecfake.cosg.quality import write_summary

    print(write_summary(args.tables, args.out).to_string(index=False), file=sys.stderr)


def register(commands) -> None:
    from codecfake.quality.cli import utmos_arguments

    step = commands.step
    p = commands.fetch.add_parser("generator-weights", help="download, verify and lock CoSG generator checkpoints")
    p.add_argument("--generators", nargs="+", required=True)
    p.add_argument("--weights-dir", default="weights")
    p.set_defaults(func=cmd_fetch_weights)

    p = step.add_parser("cosg-prompts", help="a CoSG prompt list: the run's split (next-transcript pairing) or E2")
    p.add_argument("--split", required=True)
    p.add_argument("--split-manifest", help="the split's manifest (corpus source)")
    p.add_argument("--e2-list", help="the LibriSpeech-PC cross-sentence list (E2 source)")
    p.add_argument("--e2-root", help="LibriSpeech test-clean, holding <speaker>/<chapter>/<utt>.flac")
    p.add_argument("--language", required=True)
    p.add_argument("--max-prompts", type=int, required=True, help="0: all")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prompts)

    p = step.add_parser("cosg-generate", help="one shard of a prompt list through a CoSG generator")
    p.add_argument("--prompts", required=True)
    p.add_argument("--shard", required=True, help="like 007of064")
    p.add_argument("--set", required=True, help="the generated set, e.g. MaskGCT-VCTK")
    p.add_argument("--generator", required=True)
    p.add_argument("--system", required=True, help="its cosg_systems.tsv name, e.g. MASKGCT")
    p.add_argument("--weights", required=True, choices=["pretrained", "random"])
    p.add_argument("--weights-dir", required=True, help="verified checkpoints (fetch generator-weights)")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batch-items", type=int, required=True)
    p.add_argument("--results-dir", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--rejects", required=True)
    p.set_defaults(func=cmd_generate)

    p = step.add_parser("cosg-protocol", help="a generated set's split: CoSG protocol, manifest, rejects")
    p.add_argument("--system", required=True)
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--rejects-tables", nargs="+", required=True)
    p.add_argument("--protocol", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--rejects", required=True)
    p.set_defaults(func=cmd_protocol)

    p = step.add_parser("cosg-card", help="provenance card of a generated set's split")
    for name in ("set", "split", "system", "generator", "env-file", "config-json", "manifest", "rejects", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--weights", required=True, choices=["pretrained", "random"])
    p.set_defaults(func=cmd_card)

    p = step.add_parser("cosg-utmos", help="UTMOS22 scores of a generated set's split (bona fide and spoof)")
    p.add_argument("--manifest", required=True)
    p.add_argument("--results-dir", required=True)
    utmos_arguments(p)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_utmos)

    p = step.add_parser("cosg-utmos-summary", help="mean UTMOS per generated set, split and label (Table II)")
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_utmos_summary)
