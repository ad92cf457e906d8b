"""Checks that a `snakemake --report` page renders, not only that the file exists.

The report is one self-contained HTML file: a React app whose results (figures included) are data URIs in a
`var results = {...}` script. The check (1) decodes every embedded PNG, (2) opens the page in headless Chromium
with a one-line script that shows a figure the way the page's own eye button does (app.setView), and confirms
from the rendered DOM that the figure is on screen as image data, and (3) screenshots it and rejects a blank page.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from codecfake.errors import UserError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--window-size=1400,1000", "--virtual-time-budget=20000"]
#: Shows the result whose path ends with the given name, as the report's eye button would.
SHOW = ("<script>window.addEventListener('load', () => setTimeout(() => {{"
        "const path = Object.keys(results).find(p => p.endsWith({name}));"
        "app.setView({{content: 'img', contentPath: results[path].data_uri, resultPath: path}});"
        "}}, 500));</script>")


def chromium() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def embedded_results(html: str) -> dict[str, dict]:
    match = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', html, re.S)
    if match is None:
        raise UserError("no `var results` block: not a Snakemake report page")
    return json.loads(match.group(1))


def png_bytes(data_uri: str) -> bytes:
    header, _, payload = data_uri.partition(",")
    return base64.b64decode(payload) if header.endswith(";base64") else b""


def _browser(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    browser = chromium()
    if browser is None:
        raise UserError(f"no headless browser ({', '.join(BROWSERS)}); on Debian: apt-get install -y chromium")
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180)


def blank_fraction(png: Path) -> float:
    """Share of the screenshot that is one flat colour (1.0 = blank)."""
    import matplotlib.pyplot as plt

    pixels = (plt.imread(png)[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return float(counts.max() / len(pixels))


def check_report(report, out_dir, figure: str | None = None) -> dict:
    """Renders `report` with `figure` (a result path's ending; default: the first PNG) shown; returns what was
    found, and raises UserError when a figure is missing, undecodable, not rendered or the page is blank."""
    report, out_dir = Path(report), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = report.read_text()
    results = embedded_results(html)
    figures = {path: entry for path, entry in results.items() if path.lower().endswith(".png")}
    if not figures:
        raise UserError(f"{report}: no PNG figure registered in the report")
    bad = [path for path, entry in figures.items() if not png_bytes(entry["data_uri"]).startswith(PNG_MAGIC)]
    if bad:
        raise UserError(f"{report}: figures not embedded as PNG data: {bad}")
    shown = next(path for path in figures if figure is None or path.endswith(figure))
    page = out_dir / "report_showing_figure.html"
    head, body_end, tail = html.rpartition("</body>")  # the last one: bundled libraries hold the string too
    page.write_text(head + SHOW.format(name=json.dumps(Path(shown).name)) + body_end + tail)
    screenshot = out_dir / "report_screenshot.png"
    with tempfile.TemporaryDirectory() as profile:
        dom = _browser(["--dump-dom", page.as_uri()], Path(profile)).stdout
        _browser([f"--screenshot={screenshot}", page.as_uri()], Path(profile))
    data = figures[shown]["data_uri"]
    if f'src="{data[:200]}' not in dom:
        raise UserError(f"{report}: Chromium did not render {shown} as an image (no <img> with its data)")
    if not screenshot.exists():
        raise UserError(f"{report}: Chromium wrote no screenshot")
    blank = blank_fraction(screenshot)
    if blank > 0.95:
        raise UserError(f"{report}: the rendered page is blank ({blank:.0%} one colour)")
    return {"figures": len(figures), "results": len(results), "shown": shown, "screenshot": str(screenshot),
            "blank_fraction": blank, "dom_bytes": len(dom)}
