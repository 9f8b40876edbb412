import numpy as np
import pytest
import tensorflow as tf

from shared.data.augment import build_augmenter, parse_augment
from shared.data.classification import read_class_folders
from shared.data.pipeline import image_dataset
from shared.errors import TridentError


def test_batches_follow_the_data_contract(class_folder):
    data = read_class_folders(class_folder)
    images, labels = next(iter(image_dataset(data, 16, 4)))
    assert images.shape == (4, 16, 16, 3) and images.dtype.name == "float32"
    assert labels.dtype.name == "int32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255.0


def test_evaluation_order_is_file_order_and_training_shuffles_with_seed(class_folder):
    data = read_class_folders(class_folder)
    ordered = np.concatenate([y.numpy() for _, y in image_dataset(data, 16, 4)])
    np.testing.assert_array_equal(ordered, data.labels)

    def epoch(seed):
        return np.concatenate([y.numpy() for _, y in image_dataset(data, 16, 4, training=True, seed=seed)])

    assert not np.array_equal(epoch(1), data.labels)
    np.testing.assert_array_equal(epoch(1), epoch(1))


def test_augmentation_changes_training_batches_only(class_folder):
    data = read_class_folders(class_folder)
    augmenter = build_augmenter(["flip", "crop", "color"], seed=0)
    plain = next(iter(image_dataset(data, 16, 18)))[0].numpy()
    evaluation = next(iter(image_dataset(data, 16, 18, augmenter=augmenter)))[0].numpy()
    np.testing.assert_array_equal(plain, evaluation)
    trained = next(iter(image_dataset(data, 16, 18, training=True, augmenter=augmenter)))[0].numpy()
    assert trained.shape == plain.shape
    assert not np.allclose(np.sort(trained.ravel()), np.sort(plain.ravel()))


def test_augmentations_do_what_they_say():
    from shared.data.augment import _flip, _zoom_shift

    ramp = np.tile(np.arange(32, dtype=np.float32)[None, :, None], (32, 1, 3))[None].repeat(8, 0)
    np.testing.assert_allclose(_zoom_shift(ramp, 0.0, 0.0, 0).numpy(), ramp, atol=1e-4)  # no zoom, no shift
    zoomed = _zoom_shift(ramp, 0.5, 0.0, 0).numpy()
    spans = zoomed[:, 0, -1, 0] - zoomed[:, 0, 0, 0]
    assert ((spans >= 15.5 - 1e-3) & (spans <= 31 + 1e-3)).all() and (spans < 30).any()  # zoomed in 1..2x
    flipped = _flip(ramp, 0).numpy()
    mirrored = [np.allclose(f, ramp[0][:, ::-1]) for f in flipped]
    assert all(m or np.allclose(f, ramp[0]) for m, f in zip(mirrored, flipped)) and any(mirrored)
    coloured = build_augmenter(["color"])(tf.random.uniform((4, 8, 8, 3), 0, 255)).numpy()
    assert coloured.min() >= 0 and coloured.max() <= 255


def test_parse_augment():
    assert parse_augment("auto") == ["flip", "crop", "color"]
    assert parse_augment("none") == [] and build_augmenter([]) is None
    with pytest.raises(TridentError, match="Unknown augmentation `blur`"):
        parse_augment("flip,blur")


def test_segmentation_augmentation_follows_the_seed():
    from shared.data.segmentation import shapes_segmentation
    from shared.data.segmentation_pipeline import segmentation_dataset
    from shared.engine.training import set_seed

    data = shapes_segmentation(32)["train"].subset(range(8))

    def first_batch(seed):
        set_seed(0)
        ds = segmentation_dataset(data, 32, 8, training=True, seed=seed, augment=["flip", "crop", "color"])
        images, masks = next(iter(ds))
        return images.numpy(), masks.numpy()

    again, same, other = first_batch(3), first_batch(3), first_batch(4)
    np.testing.assert_array_equal(again[0], same[0])
    np.testing.assert_array_equal(again[1], same[1])
    assert not np.array_equal(again[0], other[0])
