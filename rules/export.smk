# The results in the forms other tools load (codecfake/export.py): metadata.csv (Hugging Face AudioFolder),
# parquet shards under data/, Kaldi lists under kaldi/<split>/, and the dataset card README.md, all beside the
# CodecFake+ tree. Only when `export.formats` is configured; `codecfake export <results_dir>` does it by hand.


if export_files:

    rule export:
        input:
            expand(rules.cors_protocol.output.protocol, split=plan.splits),
            expand(rules.cors_protocol.output.manifest, split=plan.splits),
            quality.cards() if quality.settings["enabled"] else [],
        output:
            export_files + [directory(d) for d in export_dirs],
        log:
            f"{R}/logs/export.log",
        conda:
            "../envs/export.yaml"
        params:
            results=parent_of("output", 0),  # the card, README.md at results_dir (first of export_outputs)
            formats=config["export"]["formats"],
            corpus=corpus_args(config),
            rows=config["export"]["parquet_rows"],
        shell:
            "python -m codecfake export {params.results:q} --formats {params.formats:q} {params.corpus:q}"
            " --parquet-rows {params.rows:q} 2> {log:q}"
