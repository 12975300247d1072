"""A verification report as one self-contained HTML page (`verify --html`): per run, a plot of each
blob's relative error in the net's order against the tolerance line, the first diverging layer
marked, then the table of every comparison. The plots are matplotlib figures inlined as SVG: the page
loads nothing from anywhere. matplotlib is an optional extra: pip install 'squeeze-convert[html]'.
"""

from __future__ import annotations

import html
import io
import math

from converter.errors import ConverterError
from converter.verify import Comparison, Report

FLOOR = 1e-12  # errors of exactly 0 are drawn here on the log scale
HEADINGS = ("blob", "run", "against", "shape", "max abs err", "rel err", "tolerance", "ok")


def render_html(report: Report) -> str:
    runs = list(dict.fromkeys(c.backend for c in report.comparisons))
    blobs = list(dict.fromkeys(c.blob for c in report.comparisons))
    first = report.first_failure
    verdict = ("PASSED: every blob within tolerance" if report.passed else
               f"FAILED: first diverging layer {first.blob.split('|')[0]} (blob {first.blob}, {first.backend})"
               if first else "FAILED")
    against = "what real Caffe recorded (--expect)" if report.truth == "caffe" else "the reference executor"
    rows = "\n".join(_row(c) for c in report.comparisons)
    plot = _plot_svg(report, runs, blobs) if report.comparisons else "<p>Nothing was compared.</p>"
    title = f"squeeze-convert verification: {report.model}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
.passed {{ color: #17612b; }} .failed {{ color: #a11a1a; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border: 1px solid #ccc; padding: 0.15em 0.5em; text-align: left; }}
tr.bad td {{ background: #fbe3e3; }}
figure svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p id="verdict" class="{'passed' if report.passed else 'failed'}">{html.escape(verdict)}</p>
<p>Each blob compared against {html.escape(against)}; rule: max|a-b| &lt;= tolerance * max(1, max|b|),
tolerance {report.tolerance:g}. Inputs: {html.escape(", ".join(f"{k} {v}" for k, v in report.inputs.items()))}.</p>
<figure id="plot">
{plot}
<figcaption>Relative error per blob in the net's order, one plot per run; dashed line: the tolerance;
red line: the first diverging layer.</figcaption>
</figure>
<h2>Every comparison</h2>
<table id="comparisons">
<tr>{"".join(f"<th>{name}</th>" for name in HEADINGS)}</tr>
{rows}
</table>
<h2>Runs</h2>
<ul>{"".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in report.runs.items())}</ul>
<p>Versions: {html.escape(", ".join(f"{k} {v}" for k, v in report.versions.items()))}</p>
</body>
</html>
"""


def _row(c: Comparison) -> str:
    cells = [c.blob, c.backend, c.truth, "x".join(map(str, c.shape)), f"{c.max_abs_err:.3g}", f"{c.rel_err:.3g}",
             f"{c.tolerance:g}", "yes" if c.ok else "NO"]
    return f'<tr class="{"ok" if c.ok else "bad"}">' + "".join(f"<td>{html.escape(x)}</td>" for x in cells) + "</tr>"


def _plot_svg(report: Report, runs: list[str], blobs: list[str]) -> str:
    try:
        import matplotlib
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure
    except ImportError:
        raise ConverterError("--html draws its plots with matplotlib: pip install 'squeeze-convert[html]'") from None
    position = {blob: i for i, blob in enumerate(blobs)}
    first = report.first_failure
    with matplotlib.rc_context({"svg.hashsalt": "squeeze-convert", "svg.fonttype": "none"}):
        figure = Figure(figsize=(max(8.0, min(40.0, 0.12 * len(blobs))), 2.6 * len(runs) + 1.2), layout="constrained")
        FigureCanvasSVG(figure)
        axes = figure.subplots(len(runs), 1, sharex=True, squeeze=False)[:, 0]
        for ax, run in zip(axes, runs, strict=True):
            rows = [c for c in report.comparisons if c.backend == run]
            xs = [position[c.blob] for c in rows]
            finite = [c.rel_err if math.isfinite(c.rel_err) else math.nan for c in rows]
            ys = [max(FLOOR, y) if not math.isnan(y) else math.nan for y in finite]
            ax.plot(xs, ys, marker="o", markersize=3, linewidth=1, color="#1f5fa8", label=f"{run}: rel err")
            bad = [(x, c) for x, c in zip(xs, rows, strict=True) if not c.ok]
            if bad:
                top = max([y for y in ys if not math.isnan(y)] + [report.tolerance * 10])
                ax.plot([x for x, _ in bad], [c.rel_err if math.isfinite(c.rel_err) else top for _, c in bad],
                        linestyle="none", marker="x", markersize=7, color="#a11a1a", label="over tolerance")
            ax.axhline(report.tolerance, linestyle="--", color="#444", linewidth=1,
                       label=f"tolerance {report.tolerance:g}")
            if first is not None:
                ax.axvline(position[first.blob], color="#a11a1a", linewidth=1.2,
                           label=f"first diverging layer: {first.blob.split('|')[0]}")
            ax.set_yscale("log")
            ax.set_ylabel("relative error")
            ax.set_title(run, loc="left", fontsize=10)
            ax.legend(loc="upper left", fontsize=7)
            ax.grid(True, which="major", axis="y", alpha=0.3)
        step = max(1, math.ceil(len(blobs) / 60))
        axes[-1].set_xticks(range(0, len(blobs), step))
        axes[-1].set_xticklabels([blobs[i].split("|")[0] for i in range(0, len(blobs), step)], rotation=90,
                                 fontsize=6)
        out = io.StringIO()
        figure.savefig(out, format="svg")
    svg = out.getvalue()
    return svg[svg.index("<svg"):]
