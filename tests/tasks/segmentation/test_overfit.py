"""A segmenter must learn a handful of `shapes` images almost perfectly: catches silent training bugs."""

import pytest
import keras

from shared.backbones import build_backbone
from shared.data.segmentation import shapes_segmentation
from shared.data.segmentation_pipeline import segmentation_dataset
from shared.engine.training import set_seed
from tasks.segmentation.evaluate import score_split
from tasks.segmentation.metrics import scores_from_confusion
from tasks.segmentation.model import SemanticSegmenter

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`


def test_overfits_a_handful_of_shapes_images():
    set_seed(0)
    data = shapes_segmentation(64)["train"].subset(range(6))
    backbone = build_backbone("compact", widths=(16, 32, 64, 64), depths=(1, 1, 1, 1))
    model = SemanticSegmenter(backbone, 6, 64, data.class_names, data.colours, width=32)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(segmentation_dataset(data, 64, 6).repeat(), steps_per_epoch=200, epochs=1, verbose=0)
    _, matrix, _, _, _ = score_split(model, data)
    assert scores_from_confusion(matrix, data.class_names)["mean_iou"] > 0.8
