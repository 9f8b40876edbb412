import json
import re

import matplotlib.pyplot as plt
import pytest

from shared.reports import Report
from shared.reports.plots import (confusion_matrix_figure, image_grid, per_class_figure, reliability_figure,
                                  training_curves_figure)


def test_report_writes_json_markdown_and_self_contained_html(tmp_path):
    report = Report("Title <script>", "sub")
    report.headline({"accuracy": 0.5, "images": 1234})
    report.record("extra", {"a": [1, 2]})
    report.table("Per class", ["class", "f1"], [["a", 0.25], ["rate", 1e-05]], note="a note")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    report.figure("Curve", fig, "curve")
    paths = report.write(tmp_path)
    data = json.loads(open(paths["json"]).read())
    assert data["metrics"] == {"accuracy": 0.5, "images": 1234} and data["extra"] == {"a": [1, 2]}
    markdown = open(paths["md"]).read()
    assert "| a | 0.2500 |" in markdown and "(report_figures/curve.png)" in markdown
    assert "| rate | 1e-05 |" in markdown  # a small value keeps its digits
    assert (tmp_path / "report_figures" / "curve.png").stat().st_size > 1000
    html = open(paths["html"]).read()
    assert "data:image/png;base64," in html
    assert "<script>" not in html  # escaped
    assert not re.search(r"(src|href)=['\"]https?:", html)  # nothing fetched from outside
    assert "1,234" in html


def test_headline_intervals_in_every_format(tmp_path):
    report = Report("Intervals")
    report.headline({"accuracy": 0.9067, "macro F1": 0.9, "images": 75},
                    {"accuracy": (0.817, 0.962), "macro F1": (float("nan"), float("nan")), "images": None})
    paths = report.write(tmp_path)
    data = json.loads(open(paths["json"]).read())
    assert data["intervals"] == {"accuracy": {"low": 0.817, "high": 0.962}}  # undefined ones left out
    assert data["bootstrap"]["resamples"] == 1000 and data["bootstrap"]["level"] == 0.95
    assert "| accuracy | 0.9067 (0.817-0.962, 95%) |" in open(paths["md"]).read()
    assert "| macro F1 | 0.9000 |" in open(paths["md"]).read()
    assert "0.817-0.962 (95%)" in open(paths["html"]).read()


def test_plots_build():
    assert per_class_figure({"a": 0.5, "b": 0.9}, {"a": (0.3, 0.7)}, "recall", "t") is not None
    assert reliability_figure({"raw": [(0.9, 1.0, 4, 0.95, 0.75)], "empty": []}) is not None
    assert confusion_matrix_figure([[3, 1], [0, 4]], ["a", "b"]) is not None
    assert training_curves_figure({"epoch": [0, 1], "loss": [1, 0.5], "val_loss": [1.2, 0.7]}) is not None
    assert training_curves_figure({}) is None
    assert image_grid([], []) is None
    plt.close("all")


def test_the_pointing_table_warns_where_the_heat_maps_say_little():
    from shared.explain.sections import add_pointing_section

    def note_of(masses):
        report = Report("t", "s")
        record = add_pointing_section(report, masses, "Pointing game", "maps", "How.")
        return record, report.sections[-1][1][3]

    record, note = note_of({"cat": [(0.9, True, 0.2), (0.7, True, 0.2)], "dog": [(0.5, False, 0.4)]})
    assert record["mass_inside"] == record["mean"] == pytest.approx(0.7)
    assert record["peak_inside"] == pytest.approx(2 / 3) and record["cat"]["mass_inside"] == pytest.approx(0.8)
    assert "2.6 times an even spread" in note and "care" not in note
    record, note = note_of({"road": [(0.3, False, 0.2), (0.4, True, 0.2), (0.2, False, 0.2)]})
    assert "1.5 times an even spread, and 33% of their peaks" in note and "read them with care" in note


def test_markdown_shows_the_users_names_literally(tmp_path):
    """A class name with a `|`, HTML and a Markdown link stays one table cell of plain text, as in the HTML."""
    name = "cat|dog <b>bold</b> [click](http://x) snake_case"
    report = Report(f"Run of {name}")
    report.table("Per class", ["class", "recall"], [[name, 0.5]], note=f"note on {name}")
    paths = report.write(str(tmp_path))
    text = open(paths["md"]).read()
    row = next(line for line in text.splitlines() if "0.5" in line and line.startswith("|"))
    assert re.split(r"(?<!\\)\|", row.strip())[1:-1] == [
        r" cat\|dog \<b\>bold\</b\> \[click\](http://x) snake_case ", " 0.5000 "]
    assert "<b>" not in text and "[click]" not in text
    assert "cat|dog &lt;b&gt;bold&lt;/b&gt; [click](http://x) snake_case" in open(paths["html"]).read()
