import json
import re

import matplotlib.pyplot as plt

from shared.reports import Report
from shared.reports.plots import confusion_matrix_figure, image_grid, training_curves_figure


def test_report_writes_json_markdown_and_self_contained_html(tmp_path):
    report = Report("Title <script>", "sub")
    report.headline({"accuracy": 0.5, "images": 1234})
    report.record("extra", {"a": [1, 2]})
    report.table("Per class", ["class", "f1"], [["a", 0.25]], note="a note")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    report.figure("Curve", fig, "curve")
    paths = report.write(tmp_path)
    data = json.loads(open(paths["json"]).read())
    assert data["metrics"] == {"accuracy": 0.5, "images": 1234} and data["extra"] == {"a": [1, 2]}
    markdown = open(paths["md"]).read()
    assert "| a | 0.2500 |" in markdown and "(report_figures/curve.png)" in markdown
    assert (tmp_path / "report_figures" / "curve.png").stat().st_size > 1000
    html = open(paths["html"]).read()
    assert "data:image/png;base64," in html
    assert "<script>" not in html  # escaped
    assert not re.search(r"(src|href)=['\"]https?:", html)  # nothing fetched from outside
    assert "1,234" in html


def test_plots_build():
    assert confusion_matrix_figure([[3, 1], [0, 4]], ["a", "b"]) is not None
    assert training_curves_figure({"epoch": [0, 1], "loss": [1, 0.5], "val_loss": [1.2, 0.7]}) is not None
    assert training_curves_figure({}) is None
    assert image_grid([], []) is None
    plt.close("all")
