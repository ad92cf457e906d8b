# Codec checkpoints, fetched and verified on the submitting host (a local rule) so compute nodes need no internet.

rule fetch_codec_weights:
    output:
        f"{config['weights_dir']}/checksums/{{codec}}.tsv",
    params:
        fingerprint=lambda w: plan.fingerprint(w.codec),
        weights_dir=config["weights_dir"],
    log:
        f"{config['weights_dir']}/logs/{{codec}}.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake fetch-weights --codecs {wildcards.codec} --weights-dir {params.weights_dir}"
        " > {output} 2> {log}"


rule fetch_weights:
    input:
        [f"{config['weights_dir']}/checksums/{codec}.tsv" for codec in plan.codecs],
