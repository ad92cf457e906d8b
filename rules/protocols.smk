# Shard tables of one split -> CoRS protocol (published CodecFake+ format) + manifest of its 16 kHz files.

rule cors_protocol:
    input:
        bonafide=lambda w: plan.shard_tables("bonafide", w.split),
        codecs=lambda w: plan.codec_tables(w.split),
        rejects=lambda w: plan.shard_tables("bonafide", w.split, "rejects.tsv")
        + plan.codec_tables(w.split, "rejects.tsv"),
    output:
        protocol=f"{R}/protocols/CoRS_{{split}}.txt",
        manifest=f"{R}/manifests/cors_{{split}}.tsv",
        rejects=f"{R}/manifests/rejects_{{split}}.tsv",
    params:
        codecs=plan.codecs,
    log:
        f"{R}/logs/protocols/{{split}}.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake protocol --split {wildcards.split} --codecs {params.codecs}"
        " --bonafide-tables {input.bonafide} --codec-tables {input.codecs} --rejects-tables {input.rejects}"
        " --protocol {output.protocol} --manifest {output.manifest} --rejects {output.rejects} 2> {log}"
