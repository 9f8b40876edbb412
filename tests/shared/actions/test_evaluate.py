"""One class-alignment policy for every task's evaluation."""

import types

import numpy as np
import pytest

from shared.data.detection import DetectionSet
from shared.data.imageset import ImageSet
from shared.data.segmentation import SegmentationSet
from shared.errors import TridentError
from shared.actions.evaluate import align_classes
from tasks.segmentation.task import TASK as SEGMENTATION


def model(names, colours=None):
    return types.SimpleNamespace(class_names=names, colours=colours)


def test_classes_are_matched_by_name_in_any_order_and_subset():
    images = ImageSet(labels=[0, 1, 1], class_names=["dog", "cat"], images=np.zeros((3, 4, 4, 3), np.uint8))
    aligned = align_classes(images, model(["cat", "bird", "dog"]), "d")
    assert aligned.class_names == ["cat", "bird", "dog"] and aligned.labels.tolist() == [2, 0, 0]
    boxes = DetectionSet(["dog", "cat"], [np.zeros((2, 4))], [np.array([1, 0])], [(4, 4)],
                         images=np.zeros((1, 4, 4, 3), np.uint8))
    assert align_classes(boxes, model(["cat", "dog"]), "d").labels[0].tolist() == [0, 1]


def test_made_up_names_take_the_model_class_of_that_id_or_the_task_alias_of_that_colour():
    masks = np.array([[[0, 1], [255, 1]]], np.uint8)
    numbered = SegmentationSet(["class_0", "class_1"], [(0, 0, 0), (1, 1, 1)], images=np.zeros((1, 2, 2, 3)),
                               masks=masks)
    aligned = align_classes(numbered, model(["background", "road"], [(0, 0, 0), (250, 0, 0)]), "d")
    assert aligned.class_names == ["background", "road"]
    np.testing.assert_array_equal(aligned.masks, masks)
    coloured = SegmentationSet(["#fa0000", "#000000"], [(250, 0, 0), (0, 0, 0)], images=np.zeros((1, 2, 2, 3)),
                               masks=masks)
    road = model(["background", "road"], [(0, 0, 0), (250, 0, 0)])
    aligned = align_classes(coloured, road, "d", SEGMENTATION.class_aliases(road))
    np.testing.assert_array_equal(aligned.masks, [[[1, 0], [255, 0]]])  # 255 stays ignored
    assert aligned.colours == [(0, 0, 0), (250, 0, 0)]


def test_a_class_the_model_does_not_know_is_named():
    images = ImageSet(labels=[0, 1], class_names=["cat", "zebra"], images=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(TridentError, match="classes the model was not trained on: zebra"):
        align_classes(images, model(["cat", "dog"]), "d")
    numbered = SegmentationSet(["class_0", "class_5"], [(0, 0, 0), (1, 1, 1)], images=np.zeros((1, 2, 2, 3)),
                               masks=np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(TridentError, match="class_5"):
        align_classes(numbered, model(["background", "road"]), "d")
