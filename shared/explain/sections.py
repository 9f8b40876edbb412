"""Report sections that show why a model decided and what its backbone sees (`shared.explain.explainer`)."""

import keras
import numpy as np

from shared.reports.plots import image_grid


def explain_with_cases(explainer, cases, images, targets):
    """The heat maps of `add_why_section`'s `cases` (as it shows them) and of other `images` (one
    `Explainer` target each, at their own size) in one `Explainer.images` call, which runs fewer,
    larger passes than two calls. Returns `((case heats, levels of the first case's image), heats)`."""
    if not cases and not len(images):
        return ([], None), []
    magnify = [display_factor(case[0]) for case in cases] + [1] * len(images)
    answer = explainer.images([case[0] for case in cases] + list(images), [case[1] for case in cases] + list(targets),
                              magnify=magnify, levels_of=0 if cases else None)
    every, levels = answer if cases else (answer, None)
    return (every[:len(cases)], levels), every[len(cases):]


def add_why_section(report, explainer, cases, title, note, computed=None):
    """A grid of images with the heat map of what decided each one.

    Args:
        explainer: the model's `Explainer`.
        cases: list of `(uint8 image, Target, caption, is_correct)`, optionally with a fifth item
            `mark(image, factor) -> image` that draws on the shown picture (a box, say) once the
            heat map of the clean image is made; `factor` is the display's magnification.
        computed: the cases' `(heats, levels)` from `explain_with_cases`, or None to compute them here.

    Returns the pyramid levels of the first case's image (`Explainer.images`' `levels`), or None
    without cases.
    """
    if not cases:
        return None
    magnify = [display_factor(case[0]) for case in cases]
    heats, levels = computed or explain_with_cases(explainer, cases, [], [])[0]
    images, captions, colours = [], [], []
    for case, heat, factor in zip(cases, heats, magnify):
        image, _, caption, correct = case[:4]
        mark = case[4] if len(case) > 4 else (lambda picture, _: picture)
        image = np.kron(image, np.ones((factor, factor, 1), np.uint8))  # pixels as blocks, the heat smooth
        images += [mark(image, factor), mark(explainer.overlay(image, heat), factor)]
        captions += [caption, f"why ({explainer.method}, {explainer.level})"]
        colours += ["#1b7f3b" if correct else "#b00020"] * 2
    report.figure(title, image_grid(images, captions, columns=6, colors=colours), "why_it_decided")
    report.text(f"{title}: how to read it", note + " Red is where the features raised the chosen score most "
                f"({explainer.describe()}); where the image shows through untinted, they played no part.")
    return levels


DISPLAY_SIDE = 96  # smaller images are shown magnified, so that the heat over them stays smooth


def display_factor(image):
    """The whole factor that brings `image`'s shorter side to at least `DISPLAY_SIDE` pixels (1 if it is)."""
    return max(1, -(-DISPLAY_SIDE // max(1, min(image.shape[:2]))))


def _layers(parent):
    """Every layer inside `parent` (a model, or a layer holding others), depth first, in the order they were added."""
    for layer in getattr(parent, "layers", []):
        yield layer
        yield from _layers(layer)


def add_backbone_section(report, explainer, image, source, levels=None, maps_per_level=4):
    """The first layer's filters, and for `image` (named `source`) the strongest feature maps of each level.

    `levels`: the image's pyramid levels when an explanation pass already made them (`add_why_section`
    returns those of its first image); otherwise they are computed here.
    """
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
                      image_grid(tiles, [f"filter {i}" for i in range(len(tiles))], columns=8), "filters")
    if levels is None:  # as the task sees it: resized, or letterboxed for a detector
        features, _ = explainer.wired(explainer.prepare(image)[0], training=False)
        levels = {name: np.asarray(feature)[0] for name, feature in zip(explainer.pyramid_levels, features)}
    shown, captions = [], []
    for name in backbone.pyramid_levels:
        shown.append(image)
        captions.append(f"{source}" if len(shown) == 1 else "")
        maps = levels[name]
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
                  image_grid(shown, captions, columns=maps_per_level + 1), "pyramid")


def add_pointing_section(report, masses, title, counted, note):
    """The pointing-game table from `{class: [(mass inside, peak inside, area) per heat map]}`.

    Returns its record: per class and overall the mean mass inside ("mass_inside"; overall also
    as "mean"), the share of heat maps whose peak is inside ("peak_inside") and the mean share of
    the image the regions cover ("area": what a uniform heat map would score).
    """
    def summary(values):
        return {key: float(np.mean([v[i] for v in values])) for i, key in enumerate(("mass_inside", "peak_inside",
                                                                                      "area"))}

    every = [value for values in masses.values() for value in values]
    record = {name: summary(values) for name, values in masses.items()}
    overall = summary(every) if every else {"mass_inside": None, "peak_inside": None, "area": None}
    record.update(overall, mean=overall["mass_inside"])
    if masses:
        rows = [[n, record[n]["mass_inside"], record[n]["peak_inside"], record[n]["area"], len(v)]
                for n, v in masses.items()]
        rows.append(["all", record["mean"], record["peak_inside"], record["area"], len(every)])
        report.table(title, ["class", "mass inside", "peak inside", "area (uniform map)", counted], rows,
                     note=note + " Area: the share of the image the region covers, which is what a heat map "
                     "spread evenly would score. " + pointing_verdict(record))
    return record


def pointing_verdict(record):
    """One sentence on how far the heat maps can be trusted, from the pointing game's overall figures."""
    mass, peak, area = record["mass_inside"], record["peak_inside"], record["area"]
    times = mass / max(area, 1e-9)
    if peak < 0.5 or times < 1.5:
        return (f"Overall the heat maps put {mass:.2f} of their mass on the region, {times:.1f} times an even "
                f"spread, and {peak:.0%} of their peaks fall inside: on this data they say little about what "
                "decided; read them with care (`evaluate --explain-levels` explains at other levels; "
                "`bench/explain_levels.py` scores each choice).")
    return (f"Overall the heat maps put {mass:.2f} of their mass on the region, {times:.1f} times an even spread, "
            f"and {peak:.0%} of their peaks fall inside.")
