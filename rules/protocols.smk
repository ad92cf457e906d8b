# Subset tables of one split -> CoRS protocol (published CodecFake+ format) + manifest of its 16 kHz files.


rule cors_protocol:
    input:
        bonafide=expand(rules.subset_tables.output.table, subset="bonafide", allow_missing=True),
        codecs=expand(rules.subset_tables.output.table, subset=plan.codecs, allow_missing=True),
        rejects=expand(rules.subset_tables.output.rejects, subset=plan.subsets, allow_missing=True),
    output:
        protocol=f"{R}/protocols/CoRS_{{split}}.txt",
        manifest=f"{R}/manifests/cors_{{split}}.tsv",
        rejects=f"{R}/manifests/rejects_{{split}}.tsv",
    log:
        f"{R}/logs/protocols/{{split}}.log",
    conda:
        "../envs/core.yaml"
    params:
        codecs=plan.codecs,
    shell:
        "python -m codecfake step cors-protocol --split {wildcards.split:q} --codecs {params.codecs:q}"
        " --bonafide-tables {input.bonafide:q} --codec-tables {input.codecs:q} --rejects-tables {input.rejects:q}"
        " --protocol {output.protocol:q} --manifest {output.manifest:q} --rejects {output.rejects:q} 2> {log:q}"
