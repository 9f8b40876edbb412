import json

import numpy as np
import pytest

from shared.data.boxes import FixCounter, sanitize_boxes
from shared.data.detection import load_detection_data, read_coco, read_voc, read_yolo
from shared.data.detection_pipeline import detection_dataset
from shared.data.shapes import generate
from shared.errors import TridentError
from tests.factories import write_detection_data


def test_the_three_formats_read_the_same_boxes(tmp_path):
    voc = read_voc(write_detection_data(tmp_path / "voc", "voc"), class_names=None)
    coco = read_coco(write_detection_data(tmp_path / "coco", "coco"))
    write_detection_data(tmp_path / "yolo", "yolo")
    yolo = read_yolo(str(tmp_path / "yolo" / "images"), coco.class_names)
    assert len(voc) == len(coco) == len(yolo) == 8
    for i in range(8):
        names = [voc.class_names[k] for k in voc.labels[i]]
        assert names == [coco.class_names[k] for k in coco.labels[i]] == [yolo.class_names[k] for k in yolo.labels[i]]
        np.testing.assert_allclose(voc.boxes[i], coco.boxes[i], atol=0.01)
        np.testing.assert_allclose(yolo.boxes[i], coco.boxes[i], atol=0.01)
    assert len(coco.boxes[-1]) == 0  # an image without objects is kept
    assert coco.coco_ids == [10, 11, 12, 13, 14]


def test_sanitize_clips_drops_and_counts():
    fixes = FixCounter()
    boxes = [[-5, 2, 20, 30], [5, 5, 5, 9], [np.nan, 1, 2, 3], [10, 10, 40, 200], [1, 1, 8, 8]]
    out, labels = sanitize_boxes(boxes, [0, 1, 1, 0, 1], 32, 64, 2, "x.xml", fixes)
    np.testing.assert_allclose(out, [[0, 2, 20, 30], [10, 10, 32, 64], [1, 1, 8, 8]])
    assert labels.tolist() == [0, 0, 1]
    assert fixes.as_dict() == {"boxes clipped to the image": 2, "boxes with NaN or infinite coordinates dropped": 1,
                               "boxes with zero or negative size dropped": 1}
    with pytest.raises(TridentError, match="x.xml: class id 3"):
        sanitize_boxes([[0, 0, 5, 5]], [3], 32, 32, 2, "x.xml", fixes)


def _coco(tmp_path):
    path = write_detection_data(tmp_path, "coco")
    with open(path) as f:
        return path, json.load(f)


def _rewrite(path, coco):
    with open(path, "w") as f:
        json.dump(coco, f)


@pytest.mark.parametrize("breakage,message", [
    (lambda c: c["annotations"][0].update(image_id=999), "names image id 999"),
    (lambda c: c["annotations"][0].update(category_id=77), "category id 77"),
    (lambda c: c["images"].append(dict(c["images"][0])), "appears twice"),
    (lambda c: c["annotations"].append(dict(c["annotations"][0])), "annotation id 1 appears twice"),
    (lambda c: c["images"][0].update(width=640), "but the annotation says 640x64"),
    (lambda c: c["images"][0].update(file_name="gone.png"), "gone.png, which does not exist"),
])
def test_broken_coco_files_name_the_problem(tmp_path, breakage, message):
    path, coco = _coco(tmp_path)
    breakage(coco)
    _rewrite(path, coco)
    with pytest.raises(TridentError, match=message):
        read_coco(path)


def test_coco_out_of_image_boxes_are_fixed_and_reported(tmp_path):
    path, coco = _coco(tmp_path)
    coco["annotations"][0]["bbox"] = [50.0, 50.0, 40.0, 40.0]  # runs past the 64 px edge
    coco["annotations"][1]["bbox"] = [5.0, 5.0, 0.0, 10.0]  # zero width
    _rewrite(path, coco)
    _, info = load_detection_data(path, seed=0)
    assert info["fixes"] == {"boxes clipped to the image": 1, "boxes with zero or negative size dropped": 1}


def test_voc_unknown_class_is_an_error(tmp_path):
    root = write_detection_data(tmp_path, "voc")
    with pytest.raises(TridentError, match="class `circle` is not in the class list"):
        read_voc(root, class_names=["square", "star", "triangle", "cross"])


def test_shapes_are_deterministic_with_exact_boxes():
    first, second = generate("val", 64, count=5), generate("val", 64, count=5)
    np.testing.assert_array_equal(first["images"], second["images"])
    for boxes, labels, mask in zip(first["boxes"], first["labels"], first["masks"]):
        assert len(boxes) == len(labels) >= 1
        assert ((boxes >= 0) & (boxes <= 64)).all()
        assert set(np.unique(mask)) <= {0} | {int(lab) + 1 for lab in labels}


def test_pipeline_letterboxes_boxes_and_pads_with_minus_one(tmp_path):
    data = read_coco(write_detection_data(tmp_path, "coco", size=48))
    images, targets = next(iter(detection_dataset(data, 96, 8, max_boxes=3)))
    assert images.shape == (8, 96, 96, 3)
    assert targets["boxes"].shape == (8, 3, 4) and targets["labels"].dtype.name == "int32"
    first = len(data.boxes[0])
    np.testing.assert_allclose(targets["boxes"][0, :first], data.boxes[0] * 2.0, atol=1e-4)
    assert (targets["labels"][0, first:].numpy() == -1).all() and (targets["boxes"][0, first:].numpy() == -1).all()
    augmented = detection_dataset(data, 96, 8, 3, training=True, augment=["flip", "crop", "color"])
    _, targets = next(iter(augmented))
    valid = targets["labels"].numpy() >= 0
    boxes = targets["boxes"].numpy()[valid]
    assert ((boxes >= 0) & (boxes <= 96)).all() and (boxes[:, 2] > boxes[:, 0]).all()


@pytest.mark.parametrize("names, slots", [(["mosaic"], 12), (["jitter"], 3), (["mosaic", "jitter"], 12)])
def test_mosaic_and_jitter_keep_the_boxes_on_their_objects(tmp_path, names, slots):
    data = read_coco(write_detection_data(tmp_path, "coco", size=48, empty=0))
    images, targets = next(iter(detection_dataset(data, 64, 8, 3, training=True, seed=1,
                                                  augment=names)))
    assert images.shape == (8, 64, 64, 3) and targets["boxes"].shape == (8, slots, 4)
    labels, boxes = targets["labels"].numpy(), targets["boxes"].numpy()
    assert (labels >= -1).all() and labels.max() < len(data.class_names)
    valid = boxes[labels >= 0]
    assert ((valid >= 0) & (valid <= 64)).all() and (valid[:, 2] - valid[:, 0] >= 2).all()
    assert ((boxes[labels < 0] == -1).all())
    # Shapes on a flat background: each kept box covers drawn pixels, not background.
    images = images.numpy()
    for b in range(8):
        background = np.median(images[b].reshape(-1, 3), axis=0)
        for x0, y0, x1, y1 in boxes[b][labels[b] >= 0].astype(int):
            patch = images[b, y0:y1, x0:x1]
            assert np.abs(patch - background).sum(-1).max() > 30


def test_data_without_splits_can_be_scored_whole(tmp_path):
    splits, info = load_detection_data(write_detection_data(tmp_path, "voc"), unsplit_as_test=True)
    assert info["counts"] == {"train": 0, "val": 0, "test": 8}
    assert len(splits["test"].boxes[-1]) == 0  # the image without objects is scored too


def test_yolo_yaml_in_the_images_train_labels_train_layout(tmp_path):
    import shutil

    source = tmp_path / "flat"
    write_detection_data(source, "yolo")
    for split, names in (("train", ["img0", "img1", "img2", "img3", "img4"]), ("val", ["img5", "img6", "img7"])):
        for kind, ext in (("images", None), ("labels", ".txt")):
            (tmp_path / "set" / kind / split).mkdir(parents=True)
            for name in names:
                file = next(f for f in (source / kind).iterdir() if f.stem == name and (ext is None or f.suffix == ext))
                shutil.copy(file, tmp_path / "set" / kind / split / file.name)
    (tmp_path / "set" / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\n"
        "names: {0: circle, 1: square, 2: triangle, 3: star, 4: cross}\n")
    splits, info = load_detection_data(str(tmp_path / "set" / "data.yaml"))
    assert info["counts"] == {"train": 5, "val": 3, "test": 0}
    flat = read_yolo(str(source / "images"), info["class_names"])
    np.testing.assert_allclose(splits["val"].boxes[0], flat.boxes[5], atol=1e-4)
    assert info["objects"]["train"] == sum(len(b) for b in flat.boxes[:5]) > 0


def test_yolo_line_with_extra_columns_is_refused_with_the_line(tmp_path):
    data = write_detection_data(tmp_path / "yolo", "yolo")
    label = sorted((tmp_path / "yolo" / "labels").glob("*.txt"))[0]
    label.write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    with pytest.raises(TridentError, match=r"line 1: expected 5 values `class cx cy w h`, found 6"):
        load_detection_data(data)


def test_a_graph_for_any_size_letterboxes_as_eager_code_and_passes_images_of_the_size_through():
    import tensorflow as tf

    from shared.data.letterbox import letterbox

    any_size = tf.function(lambda images: letterbox(images, 32),
                           input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    rng = np.random.default_rng(3)
    for shape in [(1, 32, 32, 3), (2, 20, 40, 3), (1, 64, 32, 3)]:
        images = tf.constant(rng.integers(0, 255, shape, dtype=np.uint8))
        boxed, scale = any_size(images)
        expected, expected_scale = letterbox(images, 32)  # eager: the shape is known
        assert boxed.shape == (shape[0], 32, 32, 3)
        np.testing.assert_allclose(boxed.numpy(), expected.numpy(), atol=1e-3)
        assert float(scale) == pytest.approx(float(expected_scale))
    boxed, scale = any_size(images := tf.constant(rng.integers(0, 255, (1, 32, 32, 3), dtype=np.uint8)))
    assert float(scale) == 1.0 and np.array_equal(boxed.numpy(), images.numpy().astype(np.float32))
