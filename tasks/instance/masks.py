"""One image's object masks, kept as where they come from and decoded when asked: an instance-id
map (a PNG file or an array), one binary PNG per object, or COCO run-length encodings (polygons and
RLE both become these)."""

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

from shared.data.files import MAX_IMAGE_BYTES, check_file
from shared.errors import fail


def read_id_map(path):
    """An instance-id PNG as `int64 [H, W]`: 8- or 16-bit gray as it is; a colour map (each object its own
    colour, black the background) as one number per colour."""
    check_file(path, "Mask", MAX_IMAGE_BYTES)
    try:
        with Image.open(path) as image:
            if image.mode in ("RGB", "RGBA", "P"):
                rgb = np.asarray(image.convert("RGB"), np.int64)
                return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
            return np.asarray(image, np.int64)
    except (OSError, ValueError) as error:
        fail(f"Mask {path} cannot be read ({error})", "Replace it with a PNG of instance ids (0 = background)",
             mask=path)


def read_binary(path):
    """A one-object mask PNG as `bool [H, W]` (any non-zero pixel is the object)."""
    check_file(path, "Mask", MAX_IMAGE_BYTES)
    try:
        with Image.open(path) as image:
            values = np.asarray(image)
    except (OSError, ValueError) as error:
        fail(f"Mask {path} cannot be read ({error})", "Replace it with a binary PNG of the object", mask=path)
    return values.max(axis=-1) > 0 if values.ndim == 3 else values > 0


class IdMap:
    """Objects as the pixels of given values in an id map (`source`: a PNG path or an `[H, W]` array)."""

    def __init__(self, source, ids):
        self.source, self.ids = source, [int(i) for i in ids]

    def _map(self):
        return read_id_map(self.source) if isinstance(self.source, str) else np.asarray(self.source)

    def stack(self):
        values = self._map()
        return values[None] == np.asarray(self.ids, values.dtype)[:, None, None]

    def id_map(self):
        """`int32 [H, W]`: 0 background, k + 1 where object k is."""
        values = self._map()
        order = np.argsort(self.ids)
        ids = np.asarray(self.ids)[order]
        at = np.clip(np.searchsorted(ids, values), 0, max(len(ids) - 1, 0))
        found = (ids[at] == values) if len(ids) else np.zeros(values.shape, bool)
        return np.where(found, order[at] + 1, 0).astype(np.int32)


class MaskFiles:
    """One binary PNG per object."""

    def __init__(self, paths):
        self.paths = list(paths)

    def stack(self):
        return np.stack([read_binary(p) for p in self.paths]) if self.paths else None

    def id_map(self):
        return _layered(self.stack())


class Encoded:
    """COCO run-length encodings (compressed), one per object, at the image's size."""

    def __init__(self, rles, height, width):
        self.rles, self.height, self.width = list(rles), int(height), int(width)

    def stack(self):
        if not self.rles:
            return np.zeros((0, self.height, self.width), bool)
        return np.moveaxis(coco_mask.decode(self.rles), -1, 0).astype(bool)

    def id_map(self):
        return _layered(self.stack(), (self.height, self.width))


def _layered(stack, size=None):
    """`int32 [H, W]` from `bool [n, H, W]`: k + 1 where object k is, later objects over earlier ones."""
    if stack is None or not len(stack):
        return np.zeros(size or (1, 1), np.int32)
    ids = np.zeros(stack.shape[1:], np.int32)
    for k, mask in enumerate(stack):
        ids[mask] = k + 1
    return ids


def encode(mask):
    """COCO compressed RLE of `bool [H, W]`, with `counts` as text (JSON-ready)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def to_rle(segmentation, height, width):
    """A COCO `segmentation` (polygons, uncompressed or compressed RLE) as one compressed RLE."""
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if len(p) >= 6]
        if not polygons:
            return None
        return coco_mask.merge(coco_mask.frPyObjects(polygons, height, width))
    if isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
        return coco_mask.frPyObjects(segmentation, height, width)
    if isinstance(segmentation, dict) and "counts" in segmentation:
        counts = segmentation["counts"]
        return {"size": list(segmentation["size"]), "counts": counts.encode("ascii") if isinstance(counts, str)
                else counts}
    return None


def rle_box(rle):
    """`[x1, y1, x2, y2]` of an RLE's pixels, and its area."""
    x, y, w, h = coco_mask.toBbox(rle).tolist()
    return [x, y, x + w, y + h], float(coco_mask.area(rle))


def json_rle(rle):
    """A copy of `rle` with text `counts`."""
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}
