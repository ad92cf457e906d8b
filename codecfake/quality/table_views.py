"""Readable HTML views of the quality tables for the Snakemake report.

The report offers a registered TSV only as a download; an HTML file it shows inline. Each view is the whole
table, numbers to four significant digits, so the report can be read without opening a spreadsheet.
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from codecfake.tables import write_text_atomic

STYLE = ("body{font-family:sans-serif;font-size:13px;margin:12px}"
         "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}"
         "th{background:#eee;position:sticky;top:0}td:nth-child(-n+2){text-align:left}"
         "tr:nth-child(even){background:#f7f7f7}")


def table_html(tsv, title: str) -> str:
    frame = pd.read_csv(tsv, sep="\t", keep_default_na=False, na_values=[""])
    body = frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h3>{html.escape(title)}</h3>"
            f"<p>{len(frame)} rows; source: {html.escape(Path(tsv).name)}</p>{body}</body></html>\n")


def write_views(tables: list[str], outs: list[str]) -> None:
    for tsv, out in zip(tables, outs, strict=True):
        write_text_atomic(table_html(tsv, Path(tsv).stem.replace("_", " ")), out)
