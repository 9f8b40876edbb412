"""`Report`: collect metrics, tables and figures once; write JSON, Markdown and HTML."""

import base64
import html
import io
import os
import pathlib

from shared.io import atomic_path, write_json, write_text
from shared.stats.bootstrap import method, span

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d232a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #dde;padding-bottom:.2em}
.sub{color:#667;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}
.card{background:#f4f6fa;border-radius:8px;padding:.7em 1em;min-width:9em}
.card .v{font-size:1.5em;font-weight:600}.card .k{color:#667;font-size:.85em}.card .i{color:#445;font-size:.85em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{padding:.3em .8em;border-bottom:1px solid #e4e6ea;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f6fa}
img{max-width:100%;border:1px solid #eee;border-radius:4px}
p.note{color:#556}
"""


class FileLink(str):
    """A table cell naming a file: shown as its path, a link to open it in HTML and Markdown."""

    def href(self):
        return pathlib.Path(os.path.abspath(self)).as_uri()


def _fmt(value):
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if 0 < abs(value) < 1e-3:  # a learning rate, a p-value: four decimals would show 0.0000
            return f"{value:.3g}"
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


# Escaped: what would start markup anywhere in a line (an underscore inside a word, as in `snake_case`, does
# not, so names keep their look in the raw file).
_MARKDOWN = str.maketrans({ch: "\\" + ch for ch in "\\`*[]<>|&"} | {"\n": " ", "\r": " "})


def _md(value):
    """Text as Markdown shows it literally: class names and file names are the user's, and a `|` would split
    a table row, `<b>` or `[x](y)` render as markup, a line break end the row."""
    return str(value).translate(_MARKDOWN)


def _with_interval(value, interval, level):
    if interval is None or span(interval) == "-":
        return _fmt(value)
    return f"{_fmt(value)} ({span(interval, 3)}, {level:.0%})"


class Report:
    """A report built section by section.

    Example:
        report = Report("Classification", subtitle="digits, test split")
        report.headline({"accuracy": 0.98})
        report.table("Per class", ["class", "f1"], [["0", 0.99]])
        report.figure("Confusion matrix", fig, "confusion")
        report.write("runs/x")      # report.json, report.md, report.html
    """

    def __init__(self, title, subtitle=""):
        self.title, self.subtitle = title, subtitle
        self.data = {}
        self.sections = []

    def headline(self, metrics, intervals=None, bootstrap=None):
        """Key figures shown as cards at the top; also stored in JSON under `metrics`.

        `intervals`: `{name: (low, high)}` for some of them, shown beside the value and stored under
        `intervals`, with how they were made (`bootstrap`, `shared.stats.bootstrap.method()` by default).
        """
        self.data.setdefault("metrics", {}).update(metrics)
        intervals = {k: v for k, v in (intervals or {}).items() if k in metrics and v is not None and span(v) != "-"}
        if intervals:
            self.data.setdefault("intervals", {}).update(
                {k: {"low": float(low), "high": float(high)} for k, (low, high) in intervals.items()})
            self.data["bootstrap"] = bootstrap or method()
        self.sections.append(("cards", (dict(metrics), intervals, self.data.get("bootstrap", method())["level"])))

    def record(self, key, value):
        """Store `value` in the JSON only."""
        self.data[key] = value

    def table(self, title, headers, rows, note=None):
        self.sections.append(("table", (title, list(headers), [list(r) for r in rows], note)))

    def text(self, title, paragraph):
        self.sections.append(("text", (title, paragraph)))

    def figure(self, title, fig, name, note=None):
        """Add a matplotlib figure (rendered to PNG now, then closed) or an RGB picture (a uint8 array)."""
        import matplotlib.pyplot as plt
        import numpy as np

        buffer = io.BytesIO()
        if isinstance(fig, np.ndarray):  # saved fast: the pictures are large, the PNG's size matters less
            from PIL import Image

            Image.fromarray(fig).save(buffer, format="PNG", compress_level=1)
            self.sections.append(("figure", (title, buffer.getvalue(), name, note)))
            return
        # A figure drawn on one axis that fills it (the image grids) has no margin to trim; trimming
        # draws the figure twice, which doubled the time of saving each grid.
        fills = len(fig.axes) == 1 and tuple(fig.axes[0].get_position().bounds) == (0.0, 0.0, 1.0, 1.0)
        fig.savefig(buffer, format="png", dpi=110, bbox_inches=None if fills else "tight")
        plt.close(fig)
        self.sections.append(("figure", (title, buffer.getvalue(), name, note)))

    # --- writers ---

    def write(self, folder, stem="report"):
        """Write `stem.json`, `stem.md` (+ `stem_figures/*.png`) and `stem.html` into `folder`."""
        os.makedirs(folder, exist_ok=True)
        write_json(os.path.join(folder, f"{stem}.json"), {"title": self.title, "subtitle": self.subtitle, **self.data})
        figures = os.path.join(folder, f"{stem}_figures")
        with atomic_path(figures) as tmp:
            os.makedirs(tmp)
            for kind, content in self.sections:
                if kind == "figure":
                    with open(os.path.join(tmp, f"{content[2]}.png"), "wb") as f:
                        f.write(content[1])
        write_text(os.path.join(folder, f"{stem}.md"), self.markdown(f"{stem}_figures"))
        write_text(os.path.join(folder, f"{stem}.html"), self.html())
        return {ext: os.path.join(folder, f"{stem}.{ext}") for ext in ("json", "md", "html")}

    def markdown(self, figure_dir):
        lines = [f"# {_md(self.title)}", ""]
        if self.subtitle:
            lines += [f"_{_md(self.subtitle)}_", ""]
        for kind, content in self.sections:
            if kind == "cards":
                values, intervals, level = content
                lines += ["| metric | value |", "|---|---|"]
                lines += [f"| {_md(k)} | {_md(_with_interval(v, intervals.get(k), level))} |"
                          for k, v in values.items()] + [""]
            elif kind == "table":
                title, headers, rows, note = content
                lines += [f"## {_md(title)}", "", "| " + " | ".join(map(_md, headers)) + " |",
                          "|" + "---|" * len(headers)]
                lines += ["| " + " | ".join(f"[{_md(c)}](<{c.href()}>)" if isinstance(c, FileLink) else _md(_fmt(c))
                                            for c in row) + " |" for row in rows]
                lines += (["", _md(note)] if note else []) + [""]
            elif kind == "text":
                lines += [f"## {_md(content[0])}", "", _md(content[1]), ""]
            elif kind == "figure":
                title, _, name, note = content
                lines += [f"## {_md(title)}", "", f"![{_md(title)}]({figure_dir}/{name}.png)"]
                lines += ([_md(note)] if note else []) + [""]
        return "\n".join(lines)

    def html(self):
        esc = html.escape
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(self.title)}</title>",
                 f"<style>{_STYLE}</style></head><body><h1>{esc(self.title)}</h1>"]
        if self.subtitle:
            parts.append(f"<p class='sub'>{esc(self.subtitle)}</p>")
        for kind, content in self.sections:
            if kind == "cards":
                values, intervals, level = content
                parts.append("<div class='cards'>" + "".join(
                    f"<div class='card'><div class='v'>{esc(_fmt(v))}</div>"
                    + (f"<div class='i'>{esc(span(intervals[k], 3))} ({level:.0%})</div>" if k in intervals else "")
                    + f"<div class='k'>{esc(k)}</div></div>" for k, v in values.items()) + "</div>")
            elif kind == "table":
                title, headers, rows, note = content
                head = "".join(f"<th>{esc(h)}</th>" for h in headers)
                body = "".join("<tr>" + "".join(
                    f"<td><a href='{esc(c.href())}'>{esc(c)}</a></td>" if isinstance(c, FileLink)
                    else f"<td>{esc(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
                parts.append(f"<h2>{esc(title)}</h2><table><tr>{head}</tr>{body}</table>")
                if note:
                    parts.append(f"<p class='note'>{esc(note)}</p>")
            elif kind == "text":
                parts.append(f"<h2>{esc(content[0])}</h2><p>{esc(content[1])}</p>")
            elif kind == "figure":
                title, png, _, note = content
                data = base64.b64encode(png).decode("ascii")
                parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{data}'>")
                if note:
                    parts.append(f"<p class='note'>{esc(note)}</p>")
        parts.append("</body></html>")
        return "\n".join(parts)

