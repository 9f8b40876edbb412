"""The instance model: outputs, the mask loss's targets, training steps, config round trip, and the
end-to-end function's masks in the image's own pixels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.backbones import build_backbone
from tasks.instance.inference import make_segment
from tasks.instance.model import MASK_STRIDE, InstanceSegmenter, box_mask, mask_loss
from tasks.instance.pipeline import instance_dataset
from tasks.instance.data import shapes_instances


@pytest.fixture(scope="module")
def model():
    model = InstanceSegmenter(build_backbone("lenet5"), 5, 64, width=16, coefficients=8)
    model.compile(optimizer=keras.optimizers.AdamW(2e-3))
    return model


def test_outputs_and_round_trip(model):
    head, protos = model(tf.zeros([2, 64, 64, 3]))
    assert head.shape[-1] == 4 + 5 + 8 and protos.shape[1:] == (64 // MASK_STRIDE, 64 // MASK_STRIDE, 8)
    again = InstanceSegmenter.from_config(model.get_config())
    assert again.coefficients == 8 and again.mask_stride == model.mask_stride


def test_box_mask_covers_cells_whose_centres_are_inside():
    mask = box_mask(tf.constant([[1.0, 0.0, 3.0, 2.6]]), 4, 4).numpy()[0]
    expected = np.zeros((4, 4))
    expected[0:3, 1:3] = 1
    np.testing.assert_array_equal(mask, expected)


def test_mask_loss_is_lower_when_masks_match_their_objects(model):
    # One object (id 1) on the left half; its anchor's coefficients pick the one prototype that is 1
    # there: a large positive or negative logit gives a small or large loss.
    size = 64 // MASK_STRIDE
    instances = np.zeros((1, size, size), np.int32)
    instances[0, :, : size // 2] = 1
    protos = np.zeros((1, size, size, 8), np.float32)
    protos[0, :, : size // 2, 0] = 1.0
    protos[0, :, size // 2:, 0] = -1.0
    anchors = int(model.outputs[0].shape[1])
    boxes = tf.constant(np.tile([[0.0, 0.0, 64.0, 64.0]], (1, anchors, 1)), tf.float32)
    scores = tf.constant(np.eye(1, anchors, dtype=np.float32)[..., None])
    foreground = tf.constant(np.eye(1, anchors, dtype=bool))
    index = tf.zeros([1, anchors], tf.int64)
    losses = []
    for sign in (1.0, -1.0):
        head = np.zeros((1, anchors, 4 + 5 + 8), np.float32)
        head[0, 0, 9] = 10.0 * sign
        losses.append(float(mask_loss(model, [tf.constant(head), tf.constant(protos)], tf.constant(instances),
                                      boxes, scores, foreground, index)))
    assert losses[0] < 0.01 < 5.0 < losses[1]


def test_training_steps_lower_the_loss_on_one_batch(model):
    data = shapes_instances(64)["train"].subset(range(8))
    augmented = next(iter(instance_dataset(data, 64, 4, MASK_STRIDE, training=True, augment=["flip", "crop"])))
    assert np.isfinite(model.train_on_batch(*augmented, return_dict=True)["mask_loss"])
    x, y = next(iter(instance_dataset(data, 64, 4, MASK_STRIDE)))
    steps = [model.train_on_batch(x, y, return_dict=True) for _ in range(10)]
    assert steps[-1]["loss"] < steps[0]["loss"] and steps[-1]["mask_loss"] < steps[0]["mask_loss"]


def test_masks_come_back_at_the_image_size_inside_their_boxes(model):
    segment = make_segment(model, score_threshold=0.0, max_detections=5)
    out = segment(tf.constant(np.random.default_rng(0).integers(0, 255, (1, 48, 80, 3)), tf.uint8))
    n = int(out["num_detections"][0])
    masks, boxes = out["masks"].numpy()[0], out["boxes"].numpy()[0]
    assert masks.shape == (n, 48, 80) and masks.dtype == np.uint8
    for mask, box in zip(masks, boxes[:n]):
        ys, xs = np.nonzero(mask)
        if len(xs):
            assert xs.min() + 0.5 >= box[0] and xs.max() + 0.5 <= box[2]
            assert ys.min() + 0.5 >= box[1] and ys.max() + 0.5 <= box[3]
    fixed = tf.function(segment)(tf.zeros([1, 64, 64, 3], tf.uint8))  # a graph of one size: every slot
    assert fixed["masks"].shape[1] == 5


def test_an_image_with_no_detection_gets_no_mask(model):
    """Scores above the threshold nowhere (an image with nothing in it): no masks, not a failure, in the graph of
    any image size (the one predict and evaluate trace once images of several sizes came)."""
    segment = tf.function(make_segment(model, score_threshold=1.0),
                          input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    for shape in ((1, 48, 80, 3), (2, 40, 40, 3)):
        out = segment(tf.zeros(shape, tf.uint8))
        assert out["num_detections"].numpy().tolist() == [0] * shape[0]
        assert out["masks"].shape == (shape[0], 0, shape[1], shape[2])
