"""Figures for reports: confusion matrices, training curves, image grids, per-class bars with intervals."""

import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_matrix_figure(matrix, names, normalized=False, title=None):
    """A heat map of `matrix` (rows: truth, columns: prediction) with values written in."""
    matrix = np.asarray(matrix)
    n = len(names)
    size = min(14, 2.5 + 0.45 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1 if normalized else max(1, matrix.max()))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or ("normalised by true class" if normalized else "counts"))
    if n <= 30:
        threshold = (1 if normalized else matrix.max()) / 2
        for i in range(n):
            for j in range(n):
                value = matrix[i, j]
                text = f"{value:.2f}" if normalized else f"{int(value)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if value > threshold else "black")
    return fig


def read_log(path):
    """A Keras CSV log as `{column: [floats]}` (empty when missing)."""
    if not os.path.isfile(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {}
    for row in rows:
        for key, value in row.items():
            try:
                number = float(value)
            except (TypeError, ValueError):  # "NA": no validation split, say
                continue
            columns.setdefault(key, []).append(number)
    return columns


def training_curves_figure(log):
    """Loss and every other metric per epoch, training against validation."""
    metrics = [k for k in log if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    if not metrics:
        return None
    epochs = np.asarray(log.get("epoch", range(len(log[metrics[0]])))) + 1
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        ax.plot(epochs, log[metric], marker="o", ms=3, label="train")
        if len(log.get(f"val_{metric}", ())) == len(epochs):
            ax.plot(epochs, log[f"val_{metric}"], marker="o", ms=3, label="validation")
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def image_grid(images, captions, columns=6, colors=None, cell=150):
    """Images in a grid, each with a caption above it (red or green when `colors` says so), as one
    uint8 RGB picture for `Report.figure` (None without images).

    Composed and captioned with PIL: matplotlib took about half a second to draw and save each grid
    of 24 images, PIL about a tenth of that.
    """
    from PIL import Image, ImageDraw

    n = len(images)
    if n == 0:
        return None
    columns = min(columns, n)
    rows = (n + columns - 1) // columns
    caption_height, gap = 30, 8
    canvas = Image.new("RGB", (columns * (cell + gap), rows * (cell + caption_height + gap)), "white")
    draw, font = ImageDraw.Draw(canvas), _caption_font()
    for i, image in enumerate(images):
        tile = _fit(np.asarray(image).astype(np.uint8), cell)
        top = (i // columns) * (cell + caption_height + gap) + caption_height
        left = (i % columns) * (cell + gap)
        canvas.paste(Image.fromarray(tile), (left + (cell - tile.shape[1]) // 2, top + (cell - tile.shape[0]) // 2))
        draw.multiline_text((left + cell / 2, top - 3), str(captions[i]), fill=colors[i] if colors else "black",
                            font=font, anchor="md", align="center", spacing=2)
    return np.asarray(canvas)


def _caption_font(size=11):
    """DejaVu Sans (matplotlib's own font, so captions match the plots) at `size` pixels."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"), size)
    except OSError:  # a matplotlib without its fonts: PIL's own
        return ImageFont.load_default(size)


def _fit(image, cell):
    """`image` (grey or RGB) scaled to fit a `cell` square, keeping its aspect; pixels stay square when enlarged."""
    from PIL import Image

    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, -1)
    image = image[..., :3]
    scale = cell / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    method = Image.NEAREST if scale >= 1 else Image.BILINEAR
    return np.asarray(Image.fromarray(image).resize(size, method))


def curves_figure(curves, xlabel, ylabel, title, marker=None):
    """Several named `(x, y)` curves on one axis, e.g. precision-recall per class."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, (x, y) in curves.items():
        ax.plot(x, y, label=name, lw=1.6)
    if marker is not None:
        ax.axvline(marker, color="#888", ls="--", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=8, loc="lower left")
    return fig


def per_class_figure(values, intervals, ylabel, title):
    """One bar per class (`values` {name: value}) with its interval as an error bar (`intervals`
    {name: (low, high)}; a class without one has no bar)."""
    names = list(values)
    heights = np.array([values[n] for n in names], np.float64)
    low = np.array([intervals.get(n, (np.nan, np.nan))[0] for n in names], np.float64)
    high = np.array([intervals.get(n, (np.nan, np.nan))[1] for n in names], np.float64)
    known = np.isfinite(low) & np.isfinite(high)
    errors = np.where(known, [np.maximum(heights - low, 0), np.maximum(high - heights, 0)], 0.0)
    fig, ax = plt.subplots(figsize=(min(14, 2.5 + 0.5 * len(names)), 3.8))
    ax.bar(range(len(names)), heights, color="#4c78a8", yerr=errors, capsize=3, ecolor="#222")
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 6 else 0,
                  ha="right" if len(names) > 6 else "center")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def reliability_figure(curves, title="reliability"):
    """Accuracy against mean confidence per bin for each named curve (`{name: calibration_bins rows}`), the
    diagonal where a score means what it says; the dot size follows the images in the bin."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], color="#888", ls="--", lw=1, label="perfectly calibrated")
    for name, rows in curves.items():
        if not rows:
            continue
        counts = np.array([row[2] for row in rows], np.float64)
        mean, accuracy = [row[3] for row in rows], [row[4] for row in rows]
        ax.plot(mean, accuracy, lw=1.4, label=name)
        ax.scatter(mean, accuracy, s=12 + 120 * counts / counts.max(), alpha=0.6)
    ax.set_xlabel("mean confidence in the bin")
    ax.set_ylabel("accuracy in the bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig
