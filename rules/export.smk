# The results in the forms other tools load (codecfake/export.py): metadata.csv (Hugging Face AudioFolder),
# parquet shards under data/, Kaldi lists under kaldi/<split>/, and the dataset card README.md, all beside the
# CodecFake+ tree. Only when `export.formats` is configured; `codecfake export <results_dir>` does it by hand.


from codecfake.export import KALDI_LISTS

if export_plan.formats:

    rule export:
        input:
            expand(rules.cors_protocol.output.protocol, split=plan.splits),
            expand(rules.cors_protocol.output.manifest, split=plan.splits),
            quality_plan.cards() if quality_plan.settings["enabled"] else [],
        output:
            f"{R}/README.md",
            *([f"{R}/metadata.csv"] if export_plan.writes("audiofolder") else []),
            *(
                expand(f"{R}/kaldi/{{split}}/{{kaldi_list}}", split=plan.splits, kaldi_list=KALDI_LISTS)
                if export_plan.writes("kaldi")
                else []
            ),
            *([directory(f"{R}/data")] if export_plan.writes("parquet") else []),
        log:
            f"{R}/logs/export.log",
        conda:
            "../envs/export.yaml"
        params:
            results=parent_of("output", 0),  # the card, README.md at results_dir
            formats=export_plan.formats,
            corpus=export_plan.corpus_args(),
            rows=config["export"]["parquet_rows"],
        shell:
            "python -m codecfake export {params.results:q} --formats {params.formats:q} {params.corpus:q}"
            " --parquet-rows {params.rows:q} 2> {log:q}"
