"""Quality and codec-artifact analysis of the generated subsets, dataset statistics and provenance cards.

A dataset generator has to characterise what it wrote every time it regenerates a subset (the paper's Table II,
Fig. 5, Table VIII / Fig. 8). CoRS files are time-aligned with, and exactly as long as, their bona fide source, so
full-reference metrics and residual spectrograms apply directly. One job per module: intrusive (PESQ, STOI, mel
distance, SI-SDR), dnsmos and utmos (+ utmos_weights: the pinned checkpoint) for no-reference MOS, scoring (one
subset x split per job), aggregate (mean/std/CI), figures, artifacts (residual SSIM/correlation in taxonomy
groups), stats (Table II), provenance (cards beside the audio), table_views and report_check (the Snakemake
report, and proof that it renders), plan (what rules/quality.smk needs at parse time) and cli.
"""
