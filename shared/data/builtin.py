"""Built-in data sets that need no download."""

import numpy as np

from shared.data.imageset import ImageSet


def digits():
    """scikit-learn's 1,797 real 8x8 handwritten digits, split 70/10/20 stratified.

    The split is fixed (its own seed, independent of `--seed`) so every run and every
    report scores the same 360 test images. Pixels 0..16 become 0..255 RGB. Each image's
    region (where the digit is, for the explanation reports' pointing game) is its ink at
    half intensity or more: a third of the image on average.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)
    images = np.repeat(images[..., None], 3, axis=-1)
    labels = data.target.astype(np.int32)
    names = [str(i) for i in range(10)]
    index = np.arange(len(labels))
    rest, test = train_test_split(index, test_size=0.2, stratify=labels, random_state=1998)
    train, val = train_test_split(rest, test_size=0.125, stratify=labels[rest], random_state=1998)
    full = ImageSet(labels=labels, class_names=names, images=images, regions=data.images >= 8)
    return {"train": full.subset(train), "val": full.subset(val), "test": full.subset(test)}


BUILTIN = {"digits": digits}
