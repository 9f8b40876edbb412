"""A detector must learn a handful of `shapes` images almost perfectly: catches silent training bugs."""

import pytest
import keras

from shared.backbones import build_backbone
from shared.data.detection import DetectionSet
from shared.data.detection_pipeline import detection_dataset
from shared.data.shapes import SHAPE_CLASSES, generate
from shared.engine.training import set_seed
from tasks.detection.evaluate import predict_split
from shared.detector.metrics import coco_evaluate, coco_ground_truth, coco_results
from tasks.detection.model import build_detector

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`


def test_overfits_a_handful_of_shapes_images():
    set_seed(0)
    raw = generate("train", 64, count=6)
    data = DetectionSet(list(SHAPE_CLASSES), raw["boxes"], raw["labels"], [(64, 64)] * 6, images=raw["images"])
    backbone = build_backbone("compact", widths=(16, 32, 64, 64), depths=(1, 1, 1, 1))
    model = build_detector(backbone, len(SHAPE_CLASSES), 64, list(SHAPE_CLASSES), width=32)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(detection_dataset(data, 64, 6).repeat(), steps_per_epoch=300, epochs=1, verbose=0)
    coco = coco_evaluate(coco_ground_truth(data.boxes, data.labels, data.sizes, data.class_names),
                         coco_results(predict_split(model, data)))
    assert coco["AP50"] > 0.9, coco
    assert coco["AP"] > 0.6, coco
