"""Heat maps: their form, and on a trained tiny model, that they point at what decides the class."""

import keras
import numpy as np
import pytest

from shared.backbones import build_backbone
from shared.errors import TridentError
from shared.actions.evaluate import get_args_parser as evaluate_parser
from shared.explain.explainer import Explainer, class_score, default_levels, heat_overlay, mass_inside, region_score
from tasks.classification.model import build_classifier
from tasks.classification.task import TASK as CLASSIFICATION
from tasks.segmentation.model import SemanticSegmenter


def square_images(count, seed, size=32, side=8):
    """Noise backgrounds; odd images hold a bright square (class 1) at a random place. Returns images,
    labels and the squares' masks."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 90, (count, size, size, 3)).astype(np.float32)
    labels = np.arange(count) % 2
    masks = np.zeros((count, size, size), bool)
    for i in np.flatnonzero(labels):
        y, x = rng.integers(0, size - side, 2)
        images[i, y:y + side, x:x + side] = rng.uniform(200, 255, 3)
        masks[i, y:y + side, x:x + side] = True
    return images, labels, masks


@pytest.mark.parametrize("method", ["gradcam", "layercam"])
def test_a_heat_map_has_the_inputs_size_and_is_finite(method):
    model = build_classifier(build_backbone("compact"), 3, 32, ["a", "b", "c"])
    explain = Explainer(model, method=method)
    assert explain.levels == ("P1", "P2", "P3")  # through P2, the deepest 8 cells across at 32 px, and one more
    image = np.random.default_rng(0).integers(0, 255, (40, 52, 3), dtype=np.uint8)
    heat = explain.image(image, class_score(1))
    assert heat.shape == (40, 52) and np.isfinite(heat).all() and 0.0 <= heat.min() and heat.max() <= 1.0
    assert heat_overlay(image, heat).shape == image.shape


def test_the_default_levels_run_through_the_deepest_eight_cells_across_and_number_at_least_three():
    levels = ["P1", "P2", "P3", "P4", "P5"]
    assert default_levels(levels, 32) == ("P1", "P2", "P3")
    assert default_levels(levels, 128) == ("P1", "P2", "P3", "P4")
    assert default_levels(levels, 224) == ("P1", "P2", "P3", "P4")  # P5: 7 cells
    assert default_levels(["P2", "P3", "P4", "P5"], 640) == ("P2", "P3", "P4", "P5")
    model = build_classifier(build_backbone("compact"), 2, 32, ["a", "b"])
    assert Explainer(model, level="P2").levels == ("P2",)
    with pytest.raises(TridentError, match=r"no pyramid level P7.*among P1, P2, P3, P4, P5"):
        Explainer(model, level=("P2", "P7"))


def test_evaluate_takes_the_levels_and_method_to_explain_with():
    parser = evaluate_parser(CLASSIFICATION)
    flags = parser.parse_args(["--run", "r", "--explain-levels", "p3,P4", "--explain-method", "gradcam"])
    assert flags.explain_levels == ("P3", "P4") and flags.explain_method == "gradcam"
    for wrong in ("3,4", "P1,,P1", "P3,P3", "P3,"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--run", "r", "--explain-levels", wrong])


@pytest.mark.large
def test_on_a_trained_classifier_the_heat_points_at_the_square_that_decides_the_class():
    keras.utils.set_random_seed(0)
    images, labels, _ = square_images(256, seed=0)
    model = build_classifier(build_backbone("compact", widths=(16, 16, 32, 32)), 2, 32, ["plain", "square"])
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(images, labels, batch_size=32, epochs=6, verbose=0)
    test, test_labels, masks = square_images(40, seed=1)
    assert (model.predict(test, verbose=0).argmax(-1) == test_labels).mean() >= 0.9
    explain = Explainer(model)
    cams, _ = explain.maps(test[test_labels == 1], class_score(1))
    hits, mass = [], []
    for cam, mask in zip(cams, masks[test_labels == 1]):
        heat = np.asarray(keras.ops.image.resize(cam[..., None], (32, 32)))[..., 0]  # the cells, at pixel size
        y, x = np.unravel_index(heat.argmax(), heat.shape)
        grown = np.pad(mask, 2)[y:y + 5, x:x + 5].any()  # within 2 px of the square
        hits.append(grown)
        mass.append(mass_inside(heat, mask))
    assert np.mean(hits) >= 0.9, hits
    assert np.mean(mass) > 0.4  # the square is 6% of the image

    # The report's pointing game, where the data marks the object (classes 0 and 1 alike: the plain
    # images' region is empty and scores 0, so the figure is the squares' share over all images)
    from shared.data.imageset import ImageSet
    from shared.reports import Report
    from tasks.classification.evaluate import _add_explanations

    images = ImageSet(labels=test_labels, class_names=["plain", "square"], images=test.astype(np.uint8), regions=masks)
    report = Report("t", "s")
    record = _add_explanations(report, Explainer(model), images, test_labels, model.predict(test, verbose=0),
                               images.class_names)
    assert record["square"]["mass_inside"] > 0.4 and record["square"]["area"] == pytest.approx(64 / 1024)
    assert any(kind == "table" and "Pointing game" in body[0] for kind, body in report.sections)


def test_a_segmentation_region_can_be_explained():
    model = SemanticSegmenter(build_backbone("compact", widths=(8, 8, 16, 16)), 3, 32, head="fpn", width=16)
    explain = Explainer(model, method="layercam")
    image = np.random.default_rng(2).integers(0, 255, (30, 34, 3), dtype=np.uint8)
    heat = explain.image(image, region_score(1))
    assert heat.shape == (30, 34) and np.isfinite(heat).all()


def test_a_detected_box_can_be_explained_at_the_images_own_size():
    from shared.explain.explainer import box_score
    from tasks.detection.model import build_detector

    model = build_detector(build_backbone("compact", widths=(8, 8, 16, 16)), 2, 64, ["a", "b"], width=16)
    explain = Explainer(model)
    image = np.random.default_rng(3).integers(0, 255, (40, 80, 3), dtype=np.uint8)  # letterboxed: half padding
    heat = explain.image(image, box_score(1, (10, 5, 40, 30)))
    assert heat.shape == (40, 80) and np.isfinite(heat).all() and heat.max() <= 1.0


def test_the_why_section_explains_the_clean_image_and_its_pass_feeds_the_backbone_section():
    from shared.reports import Report
    from shared.explain.sections import add_backbone_section, add_why_section

    model = build_classifier(build_backbone("compact", widths=(8, 8, 16, 16)), 2, 32, ["a", "b"])
    explain = Explainer(model)
    image = np.random.default_rng(4).integers(0, 255, (24, 24, 3), dtype=np.uint8)
    seen, marked = [], []
    explained = explain.images
    explain.images = lambda images, *a, **k: seen.extend(images) or explained(images, *a, **k)

    def mark(picture, factor):
        marked.append((picture.shape, factor))
        return np.zeros_like(picture)

    report = Report("t", "s")
    levels = add_why_section(report, explain, [(image, class_score(1), "c", True, mark)], "Why", "Note.")
    assert np.array_equal(seen[0], image)  # the heat map's input: the image without the mark
    assert marked == [((96, 96, 3), 4)] * 2  # the picture and its overlay, shown 4 times larger
    features, _ = explain.wired(explain.prepare(image)[0], training=False)
    assert set(levels) == {"P1", "P2", "P3", "P4", "P5"}
    for name, feature in zip(explain.pyramid_levels, features):
        np.testing.assert_allclose(levels[name], np.asarray(feature)[0], atol=1e-4)
    add_backbone_section(report, explain, image, "x.png", levels)
    add_backbone_section(report, explain, image, "x.png")  # no pass given: it makes its own
    import io

    from PIL import Image

    pictures = [np.asarray(Image.open(io.BytesIO(body[1])), np.int16) for kind, body in report.sections
                if kind == "figure"]
    assert len(pictures) == 5  # why; filters and pyramid twice
    assert np.abs(pictures[2] - pictures[4]).max() <= 1  # the pyramid grid is the same either way (rounding aside)


def test_few_images_are_explained_without_a_graph_and_many_with_one_and_both_agree(monkeypatch):
    import shared.explain.explainer

    model = build_classifier(build_backbone("compact", widths=(8, 8, 16, 16)), 3, 32, ["a", "b", "c"])
    explain = Explainer(model)
    assert explain.batching(76) == (76, True)  # one eager call at 32 px (up to 128 images a call)
    assert explain.batching(200) == (100, True)  # two equal eager calls
    assert explain.batching(300) == (16, False)  # more: the traced graph, in batches of 16
    images = list(np.random.default_rng(5).integers(0, 255, (5, 30, 36, 3), dtype=np.uint8))
    targets = [class_score(i % 3) for i in range(5)]
    eager = explain.images(images, targets)
    monkeypatch.setattr(shared.explain.explainer, "EAGER_CALLS", 0)
    traced = Explainer(model).images(images, targets)
    for one, other in zip(eager, traced):
        np.testing.assert_allclose(one, other, atol=1e-4)


def test_a_pointing_game_explains_one_choice_per_image_spreading_the_classes():
    from shared.explain.explainer import one_per_image

    options = [[(1, "a"), (2, "b")], [(1, "c"), (2, "d"), (3, "e")], [], [(1, "f"), (3, "g")], [(1, "h"), (1, "i")]]
    # Image 0: classes 1 and 2 both unseen, the lower id; image 1: 2 and 3 unseen, the lower id;
    # image 2 has nothing to explain; image 3: class 3 is still unseen;
    # image 4: only class 1, its first payload.
    assert one_per_image(options) == [(0, "a"), (1, "d"), (3, "g"), (4, "h")]


def test_the_lean_convolution_gradient_gives_the_same_input_gradient_and_leaves_training_alone():
    import tensorflow as tf
    from tensorflow.python.framework import ops

    from shared.explain.explainer import _input_gradients_only

    conv = keras.layers.Conv2D(4, 3, padding="same")
    x = tf.random.stateless_uniform((2, 8, 8, 3), (1, 2))
    conv(x)

    def input_gradient():
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            y = tf.reduce_sum(conv(x) ** 2)
        return tape.gradient(y, x)

    plain = input_gradient()
    before = ops._gradient_registry._registry["Conv2D"]["type"]
    with _input_gradients_only():
        assert ops._gradient_registry._registry["Conv2D"]["type"] is not before  # the lean one is in place
        lean = input_gradient()
        with tf.GradientTape() as tape:  # a tape that watches the kernel still gets its gradient
            loss = tf.reduce_sum(conv(x) ** 2)
        assert tape.gradient(loss, conv.kernel) is not None
    assert ops._gradient_registry._registry["Conv2D"]["type"] is before
    np.testing.assert_allclose(lean.numpy(), plain.numpy(), rtol=1e-6)


def test_overlays_show_the_levels_geometric_mean_same_peak_and_order():
    model = build_classifier(build_backbone("compact", widths=(8, 8, 16, 16)), 3, 32, ["a", "b", "c"])
    explain = Explainer(model)
    heat = np.random.default_rng(2).random((16, 16)).astype(np.float32) ** 3  # a product of three maps
    shown = explain.shown(heat)
    assert len(explain.levels) == 3
    np.testing.assert_allclose(shown ** 3, heat, rtol=1e-5, atol=1e-7)
    assert np.argmax(shown) == np.argmax(heat)
    assert np.array_equal(np.argsort(shown, axis=None), np.argsort(heat, axis=None))
    assert shown.min() >= 0.0 and shown.max() <= 1.0 and shown.mean() > heat.mean()
