"""Countermeasures (CMs): training-set selection, models, training (plain or CSAM), scoring and evaluation.

Every step is one function the `cm-*` subcommands call from rules/cm.smk; the models are re-implemented from
their papers (AASIST, SSL front-end + AASIST, LCNN) and built from a spec that presets + config resolve.
"""
