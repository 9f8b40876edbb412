"""Training-time augmentation from Keras preprocessing layers, applied to batches in tf.data."""

import keras

from shared.errors import fail

AUGMENTATIONS = ("flip", "crop", "color")


def parse_augment(text):
    """`"auto"`, `"none"` or a comma list of `AUGMENTATIONS` to a list of names.

    `auto` is all three here; a training run replaces it beforehand with the policy the
    data calls for (`shared.defaults.augment_for`).
    """
    text = (text or "none").strip().lower()
    if text == "auto":
        return list(AUGMENTATIONS)
    if text == "none":
        return []
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in AUGMENTATIONS:
            fail(f"Unknown augmentation `{name}`", f"Use a comma list of {', '.join(AUGMENTATIONS)}, 'auto' or 'none'",
                 augment=text)
    return names


def build_augmenter(names, seed=0):
    """A `keras.layers.Pipeline` for images in 0..255, or None when `names` is empty.

    flip: horizontal mirror. crop: random zoom-in up to 20% and shift up to 10% (a random
    crop resized back, different per image). color: brightness, contrast, saturation jitter.
    """
    layers = []
    if "flip" in names:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if "crop" in names:
        layers.append(keras.layers.RandomZoom((-0.2, 0.0), fill_mode="reflect", seed=seed + 1))
        layers.append(keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 2))
    if "color" in names:
        layers.append(keras.layers.RandomColorJitter(
            value_range=(0, 255), brightness_factor=0.2, contrast_factor=0.2, saturation_factor=(0.3, 0.7),
            seed=seed + 3))
    return keras.layers.Pipeline(layers) if layers else None
