"""What a split's images look like, read cheaply: sizes, channels, and small thumbnails.

The defaults a run picks for itself (image size, augmentation) follow from these figures.
Sizes and modes come from file headers (no decode); thumbnails decode JPEGs at reduced
scale (`shared.data.decode`), so a folder of multi-megapixel photos profiles in seconds.
"""

import concurrent.futures

import numpy as np
from PIL import Image

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def sample_indices(count, sample, seed=0):
    """Up to `sample` sorted indices of `range(count)`, the same for the same seed."""
    if count <= sample:
        return list(range(count))
    return sorted(np.random.default_rng(seed).choice(count, sample, replace=False).tolist())


def _header(path):
    try:
        with Image.open(path) as image:
            return image.height, image.width, image.mode
    except Exception:  # unreadable files are the readers' business; leave them out here
        return None


def size_profile(dataset, sample=400, seed=0):
    """Size statistics of a split (`ImageSet`, `DetectionSet` or `SegmentationSet`).

    Returns:
        dict: `images` (how many were looked at), `short_side` and `long_side` medians,
        `short_side_p10`, `aspect` median (width / height), `gray_fraction`.
    """
    if len(dataset) == 0:
        return {"images": 0}
    if getattr(dataset, "images", None) is not None:
        shape = dataset.images.shape
        rows = [(shape[1], shape[2], "RGB")] * len(dataset)
        gray = float(np.mean([_is_gray(dataset.images[i]) for i in sample_indices(len(dataset), 50, seed)]))
    else:
        picked = [dataset.paths[i] for i in sample_indices(len(dataset), sample, seed)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            rows = [row for row in pool.map(_header, picked) if row]
        gray = float(np.mean([mode in GRAY_MODES for _, _, mode in rows])) if rows else 0.0
    if not rows:
        return {"images": 0}
    heights = np.array([r[0] for r in rows], np.float64)
    widths = np.array([r[1] for r in rows], np.float64)
    short = np.minimum(heights, widths)
    return {"images": len(rows), "short_side": float(np.median(short)), "long_side": float(np.median(np.maximum(
        heights, widths))), "short_side_p10": float(np.percentile(short, 10)),
            "aspect": float(np.median(widths / heights)), "gray_fraction": round(gray, 3)}


def _is_gray(image):
    image = np.asarray(image)
    return image.ndim == 2 or image.shape[-1] == 1 or bool(
        (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())


def thumbnails(dataset, indices, size):
    """`uint8 [n, size, size, 3]` thumbnails of `dataset`'s images at `indices`.

    Files go through the one decode (`shared.data.decode`, JPEGs at reduced scale), in
    parallel; in-memory arrays are resized.
    """
    import tensorflow as tf

    from shared.data.decode import decode_image
    from shared.data.preprocess import resize_images

    if getattr(dataset, "images", None) is not None:
        images = tf.data.Dataset.from_tensor_slices(dataset.images[np.asarray(indices, np.int64)])
    else:
        paths = tf.data.Dataset.from_tensor_slices([dataset.paths[i] for i in indices])
        images = paths.map(lambda p: decode_image(tf.io.read_file(p), min_side=size),
                           num_parallel_calls=tf.data.AUTOTUNE)
    images = images.map(lambda x: tf.cast(tf.round(resize_images(x, size)), tf.uint8),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return np.stack([x.numpy() for x in images]) if len(indices) else np.zeros((0, size, size, 3), np.uint8)
