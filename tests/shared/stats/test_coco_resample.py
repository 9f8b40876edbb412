import numpy as np

from shared.detector.metrics import coco_evaluate, coco_evaluator, coco_ground_truth, coco_results
from shared.detector.resample import CocoResampler

NAMES = ["cat", "dog", "fox"]


def scene(seed=0, images=12):
    """Truth and noisy detections: some objects missed, some boxes off, false ones, two empty images."""
    rng = np.random.default_rng(seed)
    boxes, labels, detections = [], [], []
    for i in range(images):
        count = 0 if i in (3, 7) else int(rng.integers(1, 5))
        corner = rng.uniform(0, 150, (count, 2))
        size = rng.uniform(8, 90, (count, 2))
        truth = np.concatenate([corner, corner + size], 1)
        classes = rng.integers(0, 2 if i % 2 else 3, count)
        found_boxes, scores, found_classes = [], [], []
        for box, k in zip(truth, classes):
            if rng.random() < 0.8:
                found_boxes.append(box + rng.normal(0, 6, 4))
                scores.append(rng.uniform(0.3, 1.0))
                found_classes.append(k if rng.random() < 0.9 else (k + 1) % 3)
        for _ in range(int(rng.integers(0, 3))):
            corner = rng.uniform(0, 150, 2)
            found_boxes.append(np.r_[corner, corner + rng.uniform(8, 60, 2)])
            scores.append(rng.uniform(0.0, 0.6))
            found_classes.append(int(rng.integers(0, 3)))
        boxes.append(truth)
        labels.append(classes)
        detections.append((np.asarray(found_boxes).reshape(-1, 4), np.asarray(scores), np.asarray(found_classes)))
    sizes = [(240, 240)] * images
    return coco_ground_truth(boxes, labels, sizes, NAMES), coco_results(detections)


def test_every_image_once_gives_pycocotools_ap():
    for seed in range(3):
        truth, results = scene(seed)
        reference = coco_evaluate(truth, results, resamples=0)
        found = CocoResampler(coco_evaluator(truth, results), NAMES)(np.ones((1, len(truth["images"]))))
        assert np.isclose(found["AP"][0], reference["AP"], atol=1e-12), (found["AP"], reference["AP"])
        assert np.isclose(found["AP50"][0], reference["AP50"], atol=1e-12)
        for name in NAMES:
            assert np.isclose(found[f"AP: {name}"][0], reference["per_class_ap"][name], atol=1e-12)
            assert np.isclose(found[f"AP50: {name}"][0], reference["per_class_ap50"][name], atol=1e-12)


def test_an_image_drawn_twice_counts_as_its_copy():
    truth, results = scene(5, images=8)
    weights = np.ones((1, 8))
    weights[0, 2], weights[0, 5] = 2, 0
    found = CocoResampler(coco_evaluator(truth, results), NAMES)(weights)
    # The same split written out: image 3 (id) twice, image 6 left out.
    images = [im for im in truth["images"] if im["id"] != 6] + [{**truth["images"][2], "id": 100}]
    annotations = [a for a in truth["annotations"] if a["image_id"] != 6]
    annotations += [{**a, "id": 1000 + a["id"], "image_id": 100} for a in truth["annotations"] if a["image_id"] == 3]
    copied = [r for r in results if r["image_id"] != 6]
    copied += [{**r, "image_id": 100, "score": r["score"] - 1e-9} for r in results if r["image_id"] == 3]
    reference = coco_evaluate({**truth, "images": images, "annotations": annotations}, copied, resamples=0)
    assert abs(found["AP"][0] - reference["AP"]) < 0.01, (found["AP"][0], reference["AP"])
    assert abs(found["AP50"][0] - reference["AP50"]) < 0.01


def test_intervals_hold_the_split_figure_and_a_class_missing_from_a_resample_is_left_out():
    truth, results = scene(2)
    metrics = coco_evaluate(truth, results, resamples=300)
    low, high = metrics["intervals"]["AP"]
    assert low <= metrics["AP"] <= high and high - low > 0.01
    assert set(metrics["intervals"]) >= {"AP", "AP50", "AP: cat", "AP50: fox"}
    assert coco_evaluate(truth, [], resamples=300)["intervals"] == {}


def test_detection_evaluations_read_back_and_paired(tmp_path):
    import json

    from shared.detector.scored import scored_coco
    from shared.stats.paired import compare

    truth, results = scene(4, images=30)
    worse = [dict(r, score=r["score"] * 0.5) if r["image_id"] % 2 else r for r in results]  # ranking scrambled
    for name, found in (("a", results), ("b", worse)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ground_truth.json").write_text(json.dumps(
            {**truth, "images": [dict(im, file_name=f"{im['id']}.jpg") for im in truth["images"]]}))
        (tmp_path / name / "detections.json").write_text(json.dumps(found))
    first, second = (scored_coco(str(tmp_path / n), "detections.json", [("", "bbox")]) for n in "ab")
    assert first.metrics == ("AP", "AP50") and first.images[:2] == ["1.jpg", "2.jpg"]
    assert np.isclose(first.values()["AP"], coco_evaluate(truth, results, resamples=0)["AP"])
    same = compare(first, first, resamples=200)
    assert same["metrics"]["AP"]["interval"] == (0, 0) and "within noise" in same["verdict"]
    paired = compare(first, second, resamples=200)
    assert np.isclose(paired["metrics"]["AP"]["difference"], second.values()["AP"] - first.values()["AP"])
