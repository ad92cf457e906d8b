# Codec checkpoints, fetched and verified on the submitting host (a local rule) so compute nodes need no internet.


rule fetch_codec_weights:
    output:
        f"{config['weights_dir']}/checksums/{{codec}}.tsv",
    log:
        f"{config['weights_dir']}/logs/{{codec}}.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    params:
        fingerprint=plan.by_codec(plan.fingerprint),
        weights_dir=parent_of("output", 0, levels=2),
    shell:
        "python -m codecfake fetch codec-weights --codecs {wildcards.codec:q} --weights-dir {params.weights_dir:q}"
        " > {output:q} 2> {log:q}"


rule fetch_weights:
    input:
        expand(rules.fetch_codec_weights.output, codec=plan.codecs),
