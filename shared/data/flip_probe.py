"""Is a horizontal mirror safe for this data's labels? Measured, not guessed from a name.

A small linear probe (logistic regression on 16x16 thumbnails) learns the classes from the
training split; it is then scored on the validation images as they are and mirrored. Where
mirroring keeps the class (weather, animals, most photos), the probe scores the mirrored
images about as well; where it changes the class (digits, letters, arrows), the mirrored
score falls towards chance. Flip augmentation is switched on only in the first case.
"""

import numpy as np

from shared.data.imageset import ImageSet
from shared.data.profile import sample_indices, thumbnails

SIZE = 16
# Mirrored images must keep this share of the probe's above-chance accuracy.
KEEP = 0.8


def _features(images):
    x = images.astype(np.float32).reshape(len(images), -1) / 255.0
    return x - x.mean(axis=1, keepdims=True)


def flip_probe(train, val, seed=0, max_train=1500, max_val=500):
    """Measure whether mirroring images keeps their class.

    Args:
        train, val: `ImageSet`s with `labels` (val may be empty: train is then split).
        seed: int, picks the sample.

    Returns:
        dict: `safe` (bool or None when there is too little data to tell), `accuracy` and
        `mirrored_accuracy` of the probe on held-out images, `chance`, `retained`.
    """
    from sklearn.linear_model import LogisticRegression

    train_idx = sample_indices(len(train), max_train, seed)
    x, y = thumbnails(train, train_idx, SIZE), train.labels[train_idx]
    if len(val) >= 20:
        val_idx = sample_indices(len(val), max_val, seed)
        vx, vy = thumbnails(val, val_idx, SIZE), val.labels[val_idx]
    else:  # hold out a quarter of the training sample instead
        order = np.random.default_rng(seed).permutation(len(x))
        cut = len(x) // 4
        vx, vy, x, y = x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]
    if len(vx) < 20 or len(np.unique(y)) < 2:
        return {"safe": None, "reason": "too few images to measure"}
    probe = LogisticRegression(C=0.1, max_iter=300)
    probe.fit(_features(x), y)
    plain = float((probe.predict(_features(vx)) == vy).mean())
    mirrored = float((probe.predict(_features(vx[:, :, ::-1])) == vy).mean())
    chance = float(np.bincount(vy).max() / len(vy))
    if plain - chance < 0.1:
        return {"safe": None, "reason": "the probe learns too little to tell", "accuracy": round(plain, 4),
                "mirrored_accuracy": round(mirrored, 4), "chance": round(chance, 4)}
    retained = (mirrored - chance) / (plain - chance)
    return {"safe": bool(retained >= KEEP), "accuracy": round(plain, 4), "mirrored_accuracy": round(mirrored, 4),
            "chance": round(chance, 4), "retained": round(float(retained), 3)}


def object_crops(dataset, seed=0, max_images=300, max_objects=2000):
    """An in-memory `ImageSet` of the objects of a `DetectionSet`, each cropped to `SIZE` px."""
    from PIL import Image


    crops, labels = [], []
    for i in sample_indices(len(dataset), max_images, seed):
        if len(dataset.boxes[i]) == 0:
            continue
        image = Image.fromarray(np.asarray(dataset.image(i)))
        for box, label in zip(dataset.boxes[i], dataset.labels[i]):
            x0, y0, x1, y1 = (float(v) for v in box)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            crops.append(np.asarray(image.crop((x0, y0, x1, y1)).resize((SIZE, SIZE), Image.BILINEAR)))
            labels.append(int(label))
        if len(crops) >= max_objects:
            break
    images = np.stack(crops) if crops else np.zeros((0, SIZE, SIZE, 3), np.uint8)
    return ImageSet(labels=np.array(labels, np.int32), class_names=dataset.class_names, images=images)


def objects_flip_probe(splits, seed):
    """Whether mirroring keeps the classes of a task whose items hold boxed objects, measured on crops of
    the objects (one class: always)."""
    if len(splits["train"].class_names) < 2:
        return {"safe": True, "why": "one class, so a mirrored object cannot become another class"}
    return flip_probe(object_crops(splits["train"], seed), object_crops(splits["val"], seed), seed)
