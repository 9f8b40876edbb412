import numpy as np
import pytest
import tensorflow as tf

from shared.backbones import build_backbone
from shared.detector.boxes import anchor_points
from tasks.detection.model import build_detector


def raw_outputs(model, entries):
    """Raw head outputs where, per entry, an unused anchor inside `box` predicts it with one class logit."""
    points, strides = anchor_points(model.image_size, model.image_size, model.strides)
    points, strides = points.numpy(), strides.numpy()
    raw = np.zeros((1, len(points), 4 + model.num_classes), np.float32)
    raw[..., 4:] = -20.0
    used = set()
    for box, cls, logit in entries:
        anchor = next(i for i, (x, y) in enumerate(points)
                      if i not in used and box[0] < x < box[2] and box[1] < y < box[3])
        used.add(anchor)
        x, y = points[anchor]
        distances = np.array([x - box[0], y - box[1], box[2] - x, box[3] - y]) / strides[anchor, 0]
        raw[0, anchor, :4] = np.log(np.expm1(distances))  # inverse softplus
        raw[0, anchor, 4 + cls] = logit
    return tf.constant(raw)


def test_nms_keeps_the_best_of_overlapping_boxes_per_class_and_pads():
    model = build_detector(build_backbone("lenet5"), 2, 32, ["a", "b"], width=8)
    entries = [
        ((0, 0, 10, 10), 0, 3.0),   # kept
        ((1, 0, 11, 10), 0, 2.0),   # same class, IoU 0.82 with the first: suppressed
        ((1, 0, 11, 10), 1, 1.0),   # other class at the same place: kept
        ((20, 20, 30, 30), 1, -3.5),  # score 0.029 below the 0.05 threshold: dropped
    ]
    out = model.decode(raw_outputs(model, entries), score_threshold=0.05, iou_threshold=0.5, max_detections=5)
    assert int(out["num_detections"][0]) == 2
    np.testing.assert_array_equal(out["classes"][0], [0, 1, -1, -1, -1])
    np.testing.assert_allclose(out["boxes"][0, :2], [[0, 0, 10, 10], [1, 0, 11, 10]], atol=1e-3)
    np.testing.assert_allclose(out["scores"][0, :2], 1 / (1 + np.exp([-3.0, -1.0])), rtol=1e-5)
    assert float(tf.reduce_sum(out["scores"][0, 2:])) == 0.0


def test_a_batch_of_unknown_size_suppresses_each_image_as_alone():
    model = build_detector(build_backbone("lenet5"), 2, 32, ["a", "b"], width=8)
    first = raw_outputs(model, [((0, 0, 10, 10), 0, 3.0), ((1, 0, 11, 10), 0, 2.0), ((20, 20, 30, 30), 1, 1.0)])
    second = raw_outputs(model, [((1, 0, 11, 10), 0, 2.5), ((2, 1, 12, 11), 1, 0.5)])
    decoder = model.decoder(score_threshold=0.05, iou_threshold=0.5, max_detections=4)
    batched = tf.function(decoder, input_signature=[tf.TensorSpec([None, *first.shape[1:]], tf.float32)])
    together = batched(tf.concat([first, second], 0))  # the loop over images
    for i, alone in enumerate((decoder(first), decoder(second))):  # a static batch of one: no loop
        for key, value in alone.items():
            np.testing.assert_array_equal(together[key][i], value[0])
    assert [int(n) for n in together["num_detections"]] == [2, 2]


def test_multi_label_keeps_a_second_likely_class_for_the_same_box():
    model = build_detector(build_backbone("lenet5"), 3, 32, ["a", "b", "c"], width=8)
    raw = raw_outputs(model, [((0, 0, 10, 10), 0, 1.0), ((20, 20, 30, 30), 2, 2.0)]).numpy()
    anchor = int(np.argmax(raw[0, :, 4]))
    raw[0, anchor, 5] = 0.0  # the first box is also class b, less likely (0.5 against 0.73)
    one = model.decode(tf.constant(raw), score_threshold=0.05, iou_threshold=0.5, max_detections=5)
    many = model.decode(tf.constant(raw), score_threshold=0.05, iou_threshold=0.5, max_detections=5,
                        multi_label=True)
    assert int(one["num_detections"][0]) == 2
    np.testing.assert_array_equal(one["classes"][0, :2], [2, 0])
    assert int(many["num_detections"][0]) == 3
    np.testing.assert_array_equal(many["classes"][0, :3], [2, 0, 1])
    np.testing.assert_allclose(many["scores"][0, :3], 1 / (1 + np.exp([-2.0, -1.0, 0.0])), rtol=1e-5)
    np.testing.assert_allclose(many["boxes"][0, 1], many["boxes"][0, 2])  # one box, two labels
    np.testing.assert_allclose(many["boxes"][0, 1], [0, 0, 10, 10], atol=1e-3)


def test_predict_returns_final_detections():
    model = build_detector(build_backbone("lenet5"), 3, 32, None, width=8, max_detections=7)
    out = model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0)
    assert out["boxes"].shape == (2, 7, 4) and out["classes"].shape == (2, 7) and out["num_detections"].shape == (2,)


def test_two_answers_differ_by_their_boxes_but_not_by_a_tie_broken_the_other_way():
    from shared.detector.compare import detection_difference

    def answer(rows):
        boxes = np.zeros((1, 12, 4), np.float32)
        scores, classes = np.zeros((1, 12), np.float32), np.full((1, 12), -1, np.int32)
        for i, (box, score, cls) in enumerate(rows):
            boxes[0, i], scores[0, i], classes[0, i] = box, score, cls
        return {"boxes": boxes, "scores": scores, "classes": classes, "num_detections": np.array([len(rows)])}

    rows = [((10 * i, 0, 10 * i + 8, 8), 0.9 - 0.05 * i, i % 2) for i in range(10)]
    expected = answer(rows)
    assert detection_difference(answer(rows), expected, None) == 0.0
    reordered = rows[1:2] + rows[:1] + rows[2:]  # order alone is no difference
    assert detection_difference(answer(reordered), expected, None) == 0.0
    nudged = [((x0 + 0.004, y0, x1, y1), s + 2e-4, c) for (x0, y0, x1, y1), s, c in rows]
    assert detection_difference(answer(nudged), expected, None) == pytest.approx(4e-3, abs=1e-5)  # float32 boxes
    # NMS kept the other of two tied, overlapping boxes: no difference, once in ten.
    tied = [((1, 0, 9, 8), rows[0][1] + 1e-7, 0)] + rows[1:]
    assert detection_difference(answer(tied), expected, None) == 0.0
    twice = tied[:1] + [((11, 0, 19, 8), rows[1][1], 1)] + rows[2:]
    assert detection_difference(answer(twice), expected, None) == float("inf")
    # A moved box with its own score, another class, a missing detection: no partner.
    for other in ([((30, 30, 38, 38), rows[0][1], 0)] + rows[1:], [(rows[0][0], rows[0][1], 1)] + rows[1:], rows[1:]):
        assert detection_difference(answer(other), expected, None) == float("inf")


def test_box_distances_stay_finite_however_large_the_raw_output():
    from shared.detector.decoder import stable_softplus

    raw = np.array([-100.0, -5.0, 0.0, 5.0, 88.0, 100.0, 1000.0], np.float32)
    got = stable_softplus(raw).numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, np.logaddexp(0.0, raw.astype(np.float64)), rtol=1e-6, atol=1e-7)
