import numpy as np
import pytest

from shared.detector.metrics import (coco_evaluate, coco_ground_truth, coco_results, confusion_with_background,
                                     f1_curve, match_detections, with_source_ids)

NAMES = ["a", "b"]
GT_BOXES = [np.array([[10, 10, 50, 50]], np.float32), np.array([[20, 20, 60, 40]], np.float32)]
GT_LABELS = [np.array([0]), np.array([1])]
SIZES = [(100, 100), (100, 100)]


def evaluate(detections, boxes=GT_BOXES, labels=GT_LABELS, sizes=SIZES):
    return coco_evaluate(coco_ground_truth(boxes, labels, sizes, NAMES), coco_results(detections))


def test_perfect_predictions_score_one():
    result = evaluate([(GT_BOXES[0], [0.9], [0]), (GT_BOXES[1], [0.8], [1])])
    assert result["AP"] == pytest.approx(1.0) and result["AP50"] == pytest.approx(1.0)
    assert result["per_class_ap"] == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}


def test_an_image_without_predictions_still_counts():
    # Both objects are class a; only the first image gets a (perfect) detection. Recall
    # stops at 0.5, so 51 of COCO's 101 recall points have precision 1: AP = 51/101.
    labels = [np.array([0]), np.array([0])]
    result = evaluate([(GT_BOXES[0], [0.9], [0]), (np.zeros((0, 4)), [], [])], labels=labels)
    assert result["AP50"] == pytest.approx(51 / 101)
    assert result["AR100"] == pytest.approx(0.5)


def test_known_lower_value_for_a_loose_box():
    # The 40x40 truth inside a 50x40 box: IoU 0.8, a hit at IoU thresholds 0.50..0.80 only.
    loose = np.array([[10, 10, 60, 50]], np.float32)
    result = evaluate([(loose, [0.9], [0]), (GT_BOXES[1], [0.8], [1])])
    assert result["per_class_ap"]["a"] == pytest.approx(0.7)  # IoU 0.8: hit at 0.50..0.80, 7 of 10 thresholds
    assert result["per_class_ap"]["b"] == pytest.approx(1.0)
    assert result["AP50"] == pytest.approx(1.0)


def test_no_predictions_at_all():
    result = evaluate([(np.zeros((0, 4)), [], []), (np.zeros((0, 4)), [], [])])
    assert result["AP"] == 0.0 and result["AP50"] == 0.0


def test_matching_confusion_and_f1_by_hand():
    boxes = np.array([[10, 10, 50, 50], [0, 60, 20, 80], [12, 12, 50, 50]], np.float32)
    rows = match_detections(GT_BOXES[0], GT_LABELS[0], boxes, np.array([0.9, 0.8, 0.3]), np.array([1, 0, 0]))
    # best score first: the 0.9 box has the wrong class but takes the object; the others are false positives
    assert rows == [(0.9, 1, 0), (0.8, 0, -1), (0.3, 0, -1)]
    matrix = confusion_with_background(rows, 2, score_threshold=0.5)
    assert matrix.tolist() == [[0, 1, 0], [0, 0, 0], [1, 0, 0]]
    missed = match_detections(GT_BOXES[0], GT_LABELS[0], np.zeros((0, 4)), np.zeros(0), np.zeros(0))
    assert missed == [(None, -1, 0)]
    curve = f1_curve([(0.9, 0, 0), (0.4, 1, -1), (None, -1, 1)], num_objects=2)
    assert curve["f1"][0] == pytest.approx(0.5) and curve["f1"][50] == pytest.approx(2 / 3)


def test_results_in_source_ids_score_the_same_against_the_source_ids():
    loose = np.array([[10, 10, 60, 50]], np.float32)
    detections = [(loose, [0.9], [0]), (GT_BOXES[1], [0.8], [1])]
    ground_truth = coco_ground_truth(GT_BOXES, GT_LABELS, SIZES, NAMES)
    results = coco_results(detections)
    source_truth, source_results = with_source_ids(ground_truth, results, image_ids=[42, 7], category_ids=[3, 9],
                                                   file_names=["a.jpg", "b.jpg"])
    assert [i["id"] for i in source_truth["images"]] == [42, 7]
    assert [i["file_name"] for i in source_truth["images"]] == ["a.jpg", "b.jpg"]
    assert [(r["image_id"], r["category_id"]) for r in source_results] == [(42, 3), (7, 9)]
    assert [(a["image_id"], a["category_id"]) for a in source_truth["annotations"]] == [(42, 3), (7, 9)]
    assert results[0]["image_id"] == 1 and ground_truth["images"][0]["id"] == 1  # the originals are left alone
    before, after = coco_evaluate(ground_truth, results), coco_evaluate(source_truth, source_results)
    assert after["AP"] == pytest.approx(before["AP"]) == pytest.approx(0.85)  # (0.7 + 1.0) / 2


def _rle(x1, y1, x2, y2, size=(100, 100)):
    from pycocotools import mask as coco_mask

    mask = np.zeros(size, np.uint8)
    mask[y1:y2, x1:x2] = 1
    rle = coco_mask.encode(np.asfortranarray(mask))
    return {"size": list(size), "counts": rle["counts"].decode("ascii")}


def test_mask_ap_by_hand():
    # Truth: a 40x40 square (1600 pixels). Found: the same box, but a mask of its left 25 columns
    # (1000 pixels): mask IoU 0.625, a hit at IoU 0.50, 0.55 and 0.60 only (3 of 10 thresholds); box
    # IoU 1. The crowd region's detection counts neither way.
    truth = coco_ground_truth([GT_BOXES[0]], [GT_LABELS[0]], SIZES[:1], NAMES, [[_rle(10, 10, 50, 50)]],
                              [[(0, _rle(70, 70, 90, 90))]])
    found = coco_results([(np.array([[10, 10, 50, 50], [70, 70, 90, 90]], np.float32), [0.9, 0.8], [0, 0])],
                         [[_rle(10, 10, 35, 50), _rle(70, 70, 90, 90)]])
    segm = coco_evaluate(truth, found, "segm")
    assert segm["AP"] == pytest.approx(0.3) and segm["AP50"] == pytest.approx(1.0) and segm["AP75"] == 0.0
    assert coco_evaluate(truth, found, "bbox")["AP"] == pytest.approx(1.0)
    assert segm["AP_medium"] == pytest.approx(0.3)  # 1600 pixels: between 32^2 and 96^2
