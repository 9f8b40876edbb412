"""Masks drawn on images: each object tinted in its own colour, its outline and box on top."""

import numpy as np
from scipy import ndimage

from shared.reports.draw import draw_boxes

PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255]],
                   np.float32)


def draw_instances(image, masks, boxes=None, classes=None, names=None, scores=None, colour=None, alpha=0.45):
    """`image` (uint8 [H, W, 3]) with each of `masks` (`[n, H, W]`) tinted (in `colour`, or one colour per
    object) and outlined; boxes with class names and scores drawn when given."""
    out = image[..., :3].astype(np.float32).copy()
    for k, mask in enumerate(np.asarray(masks, bool)):
        tint = np.asarray(colour, np.float32) if colour is not None else PALETTE[k % len(PALETTE)]
        out[mask] = (1 - alpha) * out[mask] + alpha * tint
        edge = mask & ~ndimage.binary_erosion(mask)
        out[edge] = tint
    out = np.clip(out, 0, 255).astype(np.uint8)
    if boxes is not None and len(boxes):
        out = draw_boxes(out, boxes, classes, names, scores, colour=tuple(int(v) for v in colour) if colour else None)
    return out


def draw_outlines(image, masks, colour=(40, 200, 40)):
    """`image` with the outline of each of `masks` in `colour` (the truth, under predictions)."""
    out = image[..., :3].copy()
    for mask in np.asarray(masks, bool):
        out[mask & ~ndimage.binary_erosion(mask)] = colour
    return out
