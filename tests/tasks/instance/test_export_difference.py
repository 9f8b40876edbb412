"""The instance export's check: detections paired as the detector's are, each pair's masks compared."""

import numpy as np

from tasks.instance.export import instance_difference


def _answer(masks, order=(0, 1)):
    boxes = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32)[list(order)]
    return {"num_detections": np.array([2]), "classes": np.array([[0, 1]])[:, list(order)],
            "scores": np.array([[0.9, 0.8]])[:, list(order)], "boxes": boxes[None],
            "masks": np.stack([masks[k] for k in order])[None]}


def test_masks_must_match_their_partner_but_for_an_edge():
    masks = np.zeros((2, 50, 50), np.uint8)
    masks[0, :10, :10] = 1
    masks[1, 20:40, 20:40] = 1
    expected = _answer(masks)
    assert instance_difference(_answer(masks, (1, 0)), expected, None) == 0.0  # another order, same pairs
    edge = masks.copy()
    edge[1, 20, 20:28] = 0  # 8 of 400 pixels: within 2% of the mask
    assert instance_difference(_answer(edge), expected, None) == 0.0
    other = masks.copy()
    other[1, 20:30, 20:40] = 0  # half the mask
    assert instance_difference(_answer(other), expected, None) == float("inf")
    fixed = {**expected, "masks": np.concatenate([expected["masks"], np.zeros((1, 3, 50, 50), np.uint8)], 1)}
    assert instance_difference(fixed, expected, None) == 0.0  # a runtime of fixed size pads to its slots
