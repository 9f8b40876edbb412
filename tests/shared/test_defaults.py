"""Defaults that follow from the data: explicit flags, image and batch size, the flip probe."""


import numpy as np
import pytest

from shared.config import parse_args
from shared.data.flip_probe import flip_probe, object_crops
from shared.data.imageset import ImageSet
from shared.engine.defaults import batch_size_for, choose_defaults, image_size_for, warmup_for
from shared.settings import TRAINING, SettingsParser
from tasks.classification.task import TASK as CLASSIFICATION
from tasks.detection.task import TASK as DETECTION
from tasks.segmentation.task import TASK as SEGMENTATION

TASKS = {task.name: task for task in (CLASSIFICATION, DETECTION, SEGMENTATION)}


def test_only_flags_and_config_keys_count_as_chosen(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("batch_size: 8\n")
    parser = SettingsParser()
    parser.add_settings(TRAINING)
    args = parse_args(parser, ["--config", str(config), "--epochs", "10", "--data", "x"])
    # --epochs 10 equals the default but was given; image_size was not.
    assert {"batch_size", "epochs", "data", "config"} <= set(args.explicit)
    assert "image_size" not in args.explicit and "augment" not in args.explicit
    assert args.batch_size == 8 and args.epochs == 10


def test_fractions_outside_zero_to_one_are_refused():
    parser = SettingsParser()
    parser.add_settings(TRAINING)
    for bad in ("1", "-0.1", "x"):
        with pytest.raises(SystemExit):
            parse_args(parser, ["--val-fraction", bad])
    assert parse_args(parser, ["--val-fraction", "0"]).val_fraction == 0.0


@pytest.mark.parametrize("task,side,expected", [
    ("classification", 28, 32), ("classification", 100, 96), ("classification", 4000, 128),
    ("detection", 500, 320), ("detection", 150, 160), ("segmentation", 512, 256), ("segmentation", 20, 64)])
def test_image_size_follows_the_data_within_the_task_bounds(task, side, expected):
    size, why = image_size_for(TASKS[task], {"images": 10, "short_side": side, "long_side": side})
    assert size == expected and size % 32 == 0 and why


def test_batch_size_shrinks_on_small_data_only():
    assert batch_size_for(32, 5000)[0] == 32
    batch, why = batch_size_for(16, 24)
    assert batch == 2 ** int(np.log2(batch)) and 24 / batch >= 4 and "24 training images" in why
    assert batch_size_for(16, 10)[0] == 4  # never below 4


def halves(count, rng, mirrored_class):
    """Class 0: bright left half; class 1: bright right half (mirroring swaps them); or top / bottom."""
    images, labels = [], []
    for i in range(count):
        label = i % 2
        image = rng.integers(0, 60, (24, 24, 3)).astype(np.uint8)
        if mirrored_class:
            image[:, :12] += 150 if label == 0 else 0
            image[:, 12:] += 150 if label == 1 else 0
        else:
            image[:12] += 150 if label == 0 else 0
            image[12:] += 150 if label == 1 else 0
        images.append(image)
        labels.append(label)
    return ImageSet(labels=np.array(labels), class_names=["a", "b"], images=np.stack(images))


def test_flip_probe_tells_mirror_classes_from_mirror_safe_ones():
    rng = np.random.default_rng(0)
    unsafe = flip_probe(halves(120, rng, True), halves(60, rng, True))
    safe = flip_probe(halves(120, rng, False), halves(60, rng, False))
    assert unsafe["safe"] is False and unsafe["mirrored_accuracy"] < 0.3
    assert safe["safe"] is True and safe["retained"] > 0.9
    assert flip_probe(halves(10, rng, False), halves(4, rng, False))["safe"] is None


def test_choose_defaults_leaves_user_choices_alone_and_explains_its_own():
    rng = np.random.default_rng(0)
    splits = {"train": halves(120, rng, True), "val": halves(60, rng, True)}
    config = {"image_size": None, "batch_size": 32, "epochs": 10, "augment": "auto", "seed": 0, "time_budget": "5m"}
    reasons, profile = choose_defaults(CLASSIFICATION, config, {"batch_size"}, splits, False)
    assert profile["short_side"] == 24
    assert config["image_size"] == 32 and config["batch_size"] == 32 and config["epochs"] == 1000
    assert "flip" not in config["augment"].split(",") and "no flip" in reasons["augment"]
    assert set(reasons) == {"backbone", "backbone_weights", "batch_norm", "freeze", "image_size", "epochs", "augment",
                            "channels", "head_epochs"}
    assert config["head_epochs"] == 0  # from scratch: no head-first phase
    assert config["batch_norm"] == "train" and "random weights" in reasons["batch_norm"]
    assert config["freeze"] == "none" and "every layer learns" in reasons["freeze"]
    assert config["channels"] == 3  # these halves are in colour
    assert config["backbone"] == "compact" and "small images" in reasons["backbone"]  # 24 px
    assert config["backbone_weights"] is None and config.get("lr") is None  # no rate chosen from scratch


def test_photographs_get_the_pretrained_backbone_its_size_and_rate():
    from shared.engine.defaults import PRETRAINED_BACKBONE, PRETRAINED_LR, backbone_for, weights_for

    photos = {"images": 10, "short_side": 300, "long_side": 400, "gray_fraction": 0.0}
    assert backbone_for(photos, builtin=False)[0] == PRETRAINED_BACKBONE
    assert backbone_for(photos, builtin=True)[0] == "compact"
    assert backbone_for({**photos, "short_side": 20}, builtin=False)[0] == "compact"
    assert backbone_for({**photos, "gray_fraction": 1.0}, builtin=False)[0] == "compact"
    assert backbone_for({**photos, "gray_fraction": 0.5}, builtin=False)[0] == PRETRAINED_BACKBONE
    assert weights_for("efficientnet_lite2")[0] == "imagenet" and weights_for("compact")[0] is None
    assert weights_for("mobilenet_v3_small")[0] is None  # its ImageNet file is not installed with Trident
    assert image_size_for(CLASSIFICATION, photos, pretrained=True)[0] == 224
    assert image_size_for(CLASSIFICATION, {**photos, "short_side": 64}, pretrained=True)[0] == 128
    rng = np.random.default_rng(0)
    splits = {"train": ImageSet(images=rng.integers(0, 255, (16, 64, 64, 3)).astype(np.uint8),
                                labels=np.arange(16) % 2, class_names=["a", "b"])}
    for explicit, backbone, weights, lr in [(set(), "auto", "auto", PRETRAINED_LR), ({"lr"}, "auto", "auto", 5e-3),
                                            (set(), "auto", "none", 5e-3), (set(), "compact", "auto", 5e-3)]:
        config = {"image_size": None, "batch_size": 8, "epochs": 1, "augment": "none", "seed": 0, "lr": 5e-3,
                  "backbone": backbone, "backbone_weights": weights}
        reasons, _ = choose_defaults(CLASSIFICATION, config, explicit, splits, False)
        assert config["lr"] == lr, (explicit, backbone, weights)
        pretrained = backbone == "auto" and weights == "auto"
        assert config["batch_norm"] == ("frozen" if pretrained else "train"), (explicit, backbone, weights)
        assert config["freeze"] == ("P2" if pretrained else "none"), (explicit, backbone, weights)
        assert ("backbone" in reasons) == (backbone == "auto") and config["channels"] == 3
        assert config.get("warmup_epochs", 1.0) == (5.0 if pretrained else 1.0)  # 2 steps an epoch


def test_pretrained_backbones_freeze_what_their_task_does_not_need_to_relearn():
    from shared.engine.defaults import batch_norm_for, freeze_for

    for spec in (CLASSIFICATION, DETECTION):
        assert batch_norm_for(True, spec.pretrained_frozen[0])[0] == "frozen"
        assert freeze_for(True, spec.pretrained_frozen[1])[0] == "P2"
    assert batch_norm_for(True, SEGMENTATION.pretrained_frozen[0])[0] == "train"
    assert freeze_for(True, SEGMENTATION.pretrained_frozen[1])[0] == "none"
    for spec in (CLASSIFICATION, DETECTION, SEGMENTATION):
        assert batch_norm_for(False, spec.pretrained_frozen[0])[0] == "train"
        assert freeze_for(False, spec.pretrained_frozen[1])[0] == "none"


def test_grayscale_data_gives_a_one_channel_backbone_unless_weights_are_given():
    from shared.engine.defaults import channels_for

    assert channels_for({"gray_fraction": 1.0}, None)[0] == 1
    assert channels_for({"gray_fraction": 1.0}, "run/backbone.weights.h5")[0] == 3
    assert channels_for({"gray_fraction": 0.5}, None) == (3, "some images are in colour")
    rng = np.random.default_rng(0)
    gray = ImageSet(images=rng.integers(0, 255, (40, 16, 16, 1)).repeat(3, -1).astype(np.uint8),
                    labels=np.arange(40) % 2, class_names=["a", "b"])
    config = {"image_size": 16, "batch_size": 8, "epochs": 1, "augment": "none", "seed": 0, "channels": "auto"}
    reasons, _ = choose_defaults(CLASSIFICATION, config, set(), {"train": gray, "val": gray}, False)
    assert config["channels"] == 1 and "grayscale" in reasons["channels"]
    config["channels"] = "3"
    assert "channels" not in choose_defaults(CLASSIFICATION, config, set(), {"train": gray, "val": gray}, False)[0]
    assert config["channels"] == 3


def test_object_crops_carry_their_labels():
    from shared.data.detection import shapes_detection

    crops = object_crops(shapes_detection(64)["val"], max_images=20)
    assert len(crops) > 20 and crops.images.shape[1:] == (16, 16, 3)
    assert set(crops.labels.tolist()) <= set(range(len(crops.class_names)))


def test_a_single_class_detector_flips_with_the_reason_said():
    from shared.engine.defaults import augment_for

    one_class = {"train": ImageSet(labels=np.zeros(3), class_names=["raccoon"], images=np.zeros((3, 8, 8, 3)))}
    names, why = augment_for(DETECTION, {"gray_fraction": 0.0}, one_class, 0)
    assert names.split(",")[0] == "flip" and "one class" in why
    names, why = augment_for(SEGMENTATION, {"gray_fraction": 0.0}, one_class, 0)
    assert names.split(",")[0] == "flip" and "region classes" in why


def test_the_warm_up_of_a_fine_tune_lasts_enough_steps():
    assert warmup_for(50, 12)[0] == 4.2  # 90 images in batches of 8
    assert warmup_for(50, 30)[0] == 1.7
    epochs, why = warmup_for(50, 60)
    assert epochs == 1.0 and why.startswith("the default")
    assert warmup_for(50, 12, default=5.0)[0] == 5.0  # never shorter than asked
    assert warmup_for(50, 2)[0] == 5.0  # nor longer than five epochs


def test_the_head_first_phase_lasts_enough_steps_and_only_for_a_fine_tune():
    from shared.engine.defaults import head_epochs_for

    assert head_epochs_for(150, 30)[0] == 5  # weather4: 940 training images in batches of 32
    assert head_epochs_for(150, 46)[0] == 4
    assert head_epochs_for(150, 400)[0] == 1  # at least one epoch
    assert head_epochs_for(150, 3)[0] == 5  # at most five
    epochs, why = head_epochs_for(150, 30, total=6)  # a fixed number of epochs: half of them at most
    assert epochs == 3 and "half of --epochs 6" in why
    assert head_epochs_for(150, 30, total=10)[0] == 5
    epochs, why = head_epochs_for(150, 30, total=1)
    assert epochs == 0 and "too few" in why
    epochs, why = head_epochs_for(0, 30)
    assert epochs == 0 and "first step" in why
    config = {"seed": 0, "augment": "none", "batch_size": 32, "channels": "auto", "backbone": "compact",
              "backbone_weights": "none"}
    photos = ImageSet(labels=np.zeros(64), class_names=["a"], images=np.zeros((64, 48, 48, 3), np.uint8))
    reasons, _ = choose_defaults(CLASSIFICATION, config, set(), {"train": photos, "val": photos}, False)
    assert config["head_epochs"] == 0 and "head_epochs" in reasons  # from scratch: nothing to keep
    config.update(backbone="efficientnet_lite0", backbone_weights="imagenet", head_epochs="auto")
    choose_defaults(CLASSIFICATION, config, set(), {"train": photos, "val": photos}, False)
    assert config["head_epochs"] == 5
    config.update(head_epochs="auto", epochs=4)  # four epochs, no time budget: two for the head
    choose_defaults(CLASSIFICATION, config, {"epochs"}, {"train": photos, "val": photos}, False)
    assert config["head_epochs"] == 2
    config.update(head_epochs="auto", time_budget="5m")  # the clock ends training; 4 only bounds the epochs
    choose_defaults(CLASSIFICATION, config, set(), {"train": photos, "val": photos}, False)
    assert config["head_epochs"] == 5
    config.update(head_epochs=0)  # a user's value stays
    choose_defaults(CLASSIFICATION, config, {"head_epochs"}, {"train": photos, "val": photos}, False)
    assert config["head_epochs"] == 0


def test_the_whole_network_fine_tunes_gently_when_the_head_alone_already_fits():
    from shared.engine.defaults import fine_tune_lr_for

    rate, why = fine_tune_lr_for(1e-3, {"val_accuracy": 0.971, "accuracy": 0.93})  # weather4's head
    assert rate == pytest.approx(1e-5) and "97.1%" in why and "x 0.01" in why
    rate, why = fine_tune_lr_for(1e-3, {"val_accuracy": 0.786})  # sign_digits' head
    assert rate == 1e-3 and "must adapt" in why
    assert fine_tune_lr_for(1e-3, {"val_accuracy": 0.9})[0] == pytest.approx(1e-5)
    assert fine_tune_lr_for(1e-3, {"val_accuracy": 0.8})[0] == 1e-3
    rate, why = fine_tune_lr_for(1e-3, {"val_accuracy": 0.85})  # between: the rate falls geometrically
    assert rate == pytest.approx(1e-4) and "x 0.1" in why
    rates = [fine_tune_lr_for(1e-3, {"val_accuracy": a})[0] for a in np.linspace(0.8, 0.9, 11)]
    assert all(b < a <= 1.7 * b for a, b in zip(rates, rates[1:]))  # no step: a val image moves it a little
    rate, why = fine_tune_lr_for(2e-3, {"accuracy": 1.0})  # training accuracy says nothing of new images
    assert rate == 2e-3 and "no val split" in why
