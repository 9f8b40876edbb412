"""Draw boxes with class names and scores, or class maps in colour, onto copies of images; encode PNGs."""

import io

import numpy as np
from PIL import Image, ImageDraw

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128), (170, 110, 40), (128, 0, 0)]


def draw_boxes(image, boxes, labels, names, scores=None, colour=None, width=2):
    """A new uint8 image with each box outlined and captioned `name score`."""
    canvas = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for i, (box, label) in enumerate(zip(boxes, labels)):
        tint = colour or PALETTE[int(label) % len(PALETTE)]
        x1, y1, x2, y2 = (float(v) for v in box)
        draw.rectangle([x1, y1, x2, y2], outline=tint, width=width)
        caption = names[int(label)] + (f" {float(scores[i]):.2f}" if scores is not None else "")
        text_w = draw.textlength(caption)
        top = max(0.0, y1 - 11)
        draw.rectangle([x1, top, x1 + text_w + 4, top + 11], fill=tint)
        draw.text((x1 + 2, top), caption, fill=(255, 255, 255))
    return np.asarray(canvas)


def png_bytes(image):
    """A PIL image encoded as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def overlay(image, class_map, colours, alpha=0.5):
    """The image with each class painted in its colour (background, class 0, left clear if black)."""
    palette = np.asarray(colours, np.float32)
    painted = palette[np.clip(class_map, 0, len(palette) - 1)]
    visible = (class_map != 255)[..., None] & (palette[np.clip(class_map, 0, len(palette) - 1)].sum(-1) > 0)[..., None]
    mixed = np.where(visible, (1 - alpha) * image + alpha * painted, image)
    return mixed.astype(np.uint8)
