"""Report sections that show why a model decided and what its backbone sees (`shared.explain`)."""

import keras
import numpy as np

from shared.explain import heat_overlay
from shared.reports.plots import image_grid_figure


def add_why_section(report, explainer, cases, title, note):
    """A grid of images with the heat map of what decided each one.

    Args:
        explainer: the model's `Explainer`.
        cases: list of `(uint8 image, Target, caption, is_correct)`.
    """
    if not cases:
        return
    heats = explainer.images([case[0] for case in cases], [case[1] for case in cases])
    images, captions, colours = [], [], []
    for (image, target, caption, correct), heat in zip(cases, heats):
        images += [image, heat_overlay(image, heat)]
        captions += [caption, f"why ({explainer.method}, {explainer.level})"]
        colours += ["#1b7f3b" if correct else "#b00020"] * 2
    report.figure(title, image_grid_figure(images, captions, columns=6, colors=colours), "why_it_decided")
    report.text(f"{title}: how to read it", note + " Red is where the features raised the chosen score most "
                f"({explainer.method} at pyramid level {explainer.level}); dark blue is where they played no part.")


def _layers(model):
    """Every layer inside `model`, depth first, in the order they were added."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _layers(layer)


def add_backbone_section(report, explainer, image, source, maps_per_level=4):
    """The first layer's filters, and for `image` (named `source`) the strongest feature maps of each level."""
    model = explainer.model
    backbone = model.backbone
    first = next((layer for layer in _layers(backbone)
                  if isinstance(layer, keras.layers.Conv2D) and layer.get_weights()), None)
    if first is not None:
        kernel = first.get_weights()[0]  # [k, k, in, out]
        tiles = []
        for i in range(min(kernel.shape[-1], 24)):
            tile = kernel[..., i]
            tile = tile if tile.shape[-1] == 3 else np.repeat(tile.mean(-1, keepdims=True), 3, -1)
            tile = (tile - tile.min()) / max(float(tile.max() - tile.min()), 1e-12)
            tiles.append(np.kron(tile, np.ones((8, 8, 1))) * 255)
        report.figure(f"What the backbone sees: the first layer's {len(tiles)} learned filters ({first.name})",
                      image_grid_figure(tiles, [f"filter {i}" for i in range(len(tiles))], columns=8), "filters")
    inputs, _ = explainer.prepare(image)  # as the task sees it: resized, or letterboxed for a detector
    levels = keras.Model(explainer.wired.inputs, explainer.pyramid)(inputs, training=False)
    shown, captions = [], []
    for name in backbone.pyramid_levels:
        shown.append(image)
        captions.append(f"{source}" if len(shown) == 1 else "")
        maps = np.asarray(levels[name])[0]
        strongest = np.argsort(-maps.mean(axis=(0, 1)))[:maps_per_level]
        for channel in strongest:
            fmap = maps[..., channel]
            spread = float(fmap.max() - fmap.min())
            fmap = (fmap - fmap.min()) / spread if spread > 1e-12 else np.full_like(fmap, 0.5)
            fmap = np.kron(fmap, np.ones((max(1, 64 // fmap.shape[0]),) * 2))
            shown.append(np.repeat(fmap[..., None] * 255, 3, -1))
            captions.append(f"{name} ({maps.shape[0]}x{maps.shape[1]}) #{channel}")
    report.figure(f"What the backbone sees in {source}: the image, then its {maps_per_level} strongest feature maps "
                  "at each pyramid level, one row per level, shallow (edges, colours) to deep (parts, whole objects)",
                  image_grid_figure(shown, captions, columns=maps_per_level + 1), "pyramid")


def add_pointing_section(report, masses, title, counted, note):
    """The pointing-game table from `{class: [(mass inside, peak inside) per heat map]}`.

    Returns its record: per class and overall ("mean") the mass inside, and the share of
    heat maps whose peak is inside ("peak_inside").
    """
    every = [pair for values in masses.values() for pair in values]
    record = {name: {"mass_inside": float(np.mean([m for m, _ in values])),
                     "peak_inside": float(np.mean([h for _, h in values]))} for name, values in masses.items()}
    record["mean"] = float(np.mean([m for m, _ in every])) if every else None
    record["peak_inside"] = float(np.mean([h for _, h in every])) if every else None
    if masses:
        rows = [[n, record[n]["mass_inside"], record[n]["peak_inside"], len(v)] for n, v in masses.items()]
        rows.append(["all", record["mean"], record["peak_inside"], len(every)])
        report.table(title, ["class", "mass inside", "peak inside", counted], rows, note=note)
    return record
