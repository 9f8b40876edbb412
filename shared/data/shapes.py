"""The built-in `shapes` data set: coloured shapes on textured backgrounds, exact labels.

Each image holds 1 to 4 shapes from `SHAPE_CLASSES`, of varied size, colour and position,
allowed to overlap a little. Boxes come from the geometry (exact by construction); the
class mask comes from rendering, later shapes over earlier ones (0 = background,
k + 1 = class k). Splits are generated from fixed seeds, so every machine gets the same
images.
"""

import math

import numpy as np
from PIL import Image, ImageDraw

from shared.data.boxes import box_iou

SHAPE_CLASSES = ("circle", "square", "triangle", "star", "cross")
SPLIT_SIZES = {"train": 2400, "val": 100, "test": 200}
SPLIT_SEEDS = {"train": 11, "val": 12, "test": 13}


def _background(rng, size):
    coarse = rng.uniform(40, 215, (4, 4, 3)).astype(np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BILINEAR), np.float32)
    if rng.random() < 0.5:  # stripes
        period = int(rng.integers(6, 16))
        stripes = (np.arange(size) // period) % 2 * rng.uniform(10, 35)
        image += stripes[None, :, None] if rng.random() < 0.5 else stripes[:, None, None]
    image += rng.normal(0, 8, image.shape)
    return image


def _polygon(kind, cx, cy, r):
    if kind == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if kind == "triangle":
        return [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if kind == "star":
        points = []
        for i in range(10):
            radius = r if i % 2 == 0 else r * 0.45
            angle = -math.pi / 2 + i * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        return points
    if kind == "cross":
        t = r * 0.35
        return [(cx - t, cy - r), (cx + t, cy - r), (cx + t, cy - t), (cx + r, cy - t), (cx + r, cy + t),
                (cx + t, cy + t), (cx + t, cy + r), (cx - t, cy + r), (cx - t, cy + t), (cx - r, cy + t),
                (cx - r, cy - t), (cx - t, cy - t)]
    raise ValueError(kind)


def make_image(rng, size=128, max_objects=4):
    """One image: `(uint8 [S, S, 3], boxes float32 [n, 4] xyxy, labels int32 [n], mask uint8 [S, S], instances
    uint8 [S, S])`; `instances` holds k + 1 where shape k shows (later shapes over earlier ones)."""
    canvas = Image.fromarray(np.clip(_background(rng, size), 0, 255).astype(np.uint8))
    mask, instances = Image.new("L", (size, size), 0), Image.new("L", (size, size), 0)
    draw, draw_mask, draw_instance = ImageDraw.Draw(canvas), ImageDraw.Draw(mask), ImageDraw.Draw(instances)
    boxes, labels = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            r = float(rng.uniform(0.06, 0.22) * size)
            cx, cy = rng.uniform(r, size - r, 2)
            label = int(rng.integers(len(SHAPE_CLASSES)))
            kind = SHAPE_CLASSES[label]
            if kind == "circle":
                points = None
                box = (cx - r, cy - r, cx + r, cy + r)
            else:
                points = _polygon(kind, cx, cy, r)
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                box = (min(xs), min(ys), max(xs), max(ys))
            if all(box_iou(box, other) < 0.25 for other in boxes):
                break
        else:
            continue
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if kind == "circle":
            draw.ellipse(box, fill=colour)
            draw_mask.ellipse(box, fill=label + 1)
            draw_instance.ellipse(box, fill=len(boxes) + 1)
        else:
            draw.polygon(points, fill=colour)
            draw_mask.polygon(points, fill=label + 1)
            draw_instance.polygon(points, fill=len(boxes) + 1)
        boxes.append(box)
        labels.append(label)
    return (np.asarray(canvas), np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int32),
            np.asarray(mask), np.asarray(instances))


def generate(split, size=128, count=None):
    """A split of `shapes`: dict of `images [N, S, S, 3]`, `boxes`, `labels` (lists), `masks [N, S, S]`,
    `instances [N, S, S]`."""
    rng = np.random.default_rng(SPLIT_SEEDS[split] * 1000 + size)
    items = [make_image(rng, size) for _ in range(count or SPLIT_SIZES[split])]
    return {
        "images": np.stack([item[0] for item in items]),
        "boxes": [item[1] for item in items],
        "labels": [item[2] for item in items],
        "masks": np.stack([item[3] for item in items]),
        "instances": np.stack([item[4] for item in items]),
    }
