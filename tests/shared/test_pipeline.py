import numpy as np
import pytest

from shared.data.augment import parse_augment
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
    names = ["flip", "crop", "color"]
    plain = next(iter(image_dataset(data, 16, 18)))[0].numpy()
    evaluation = next(iter(image_dataset(data, 16, 18, augment=names)))[0].numpy()
    np.testing.assert_array_equal(plain, evaluation)
    trained = next(iter(image_dataset(data, 16, 18, training=True, augment=names)))[0].numpy()
    assert trained.shape == plain.shape
    assert not np.allclose(np.sort(trained.ravel()), np.sort(plain.ravel()))
    again = next(iter(image_dataset(data, 16, 18, training=True, augment=names)))[0].numpy()
    np.testing.assert_array_equal(trained, again)  # the draws follow the seed


def test_parse_augment():
    assert parse_augment("auto") == ["flip", "crop", "color"]
    assert parse_augment("none") == []
    assert parse_augment("flip, mosaic", extra=("mosaic",)) == ["flip", "mosaic"]
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
