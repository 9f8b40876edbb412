"""Semantic segmentation: a class for every pixel.

--data: `shapes` (built-in), a folder with images/ + masks/ (or train/ val/ test/ such
folders), a COCO JSON with polygons or RLE, or a dataset YAML with `train`, `val`, `test`,
`names`, and for colour masks `colors` (id: [r, g, b]); `mask_values` maps raw mask values to
class ids; 255 means ignore. Scores are IoU at each image's own size.
"""

import numpy as np

from shared.config import non_negative_float, positive_int
from shared.data.augment import parse_augment
from shared.data.segmentation import IGNORE, load_segmentation_data
from shared.data.segmentation_pipeline import segmentation_dataset
from shared.engine.defaults import configured_backbone
from shared.errors import fail
from shared.settings import Setting
from shared.task import Task
from shared.engine.training import build_optimizer
from tasks.segmentation import benchmark, evaluate, export, predict, review, suggest
from tasks.segmentation.inference import make_segment
from tasks.segmentation.inspect import PixelCounts
from tasks.segmentation.losses import SegmentationLoss
from tasks.segmentation.metrics import MeanIoU
from tasks.segmentation.model import SemanticSegmenter


class Segmentation(Task):
    name = "segmentation"
    builtins = ("shapes",)
    monitor, mode = "val_mean_iou", "max"
    size_rules = (64, 256, "short_side")
    pretrained_size_rules = (128, 256, "short_side")
    # A pretrained backbone keeps every layer learning: the decoder takes its detail from P2, and aerial
    # tiles are far from ImageNet's statistics (dubai_aerial, default command, test mean IoU: 0.477 with
    # every layer learning, 0.414 frozen to P2 and 0.419 frozen to P1, batch norm frozen in both).
    pretrained_frozen = ("train", "none")
    flip_reason = "mirroring keeps region classes"
    second_class_fix = "Add masks with a second value (a class besides the background)"
    compare_images = 3
    headline = "mean IoU {mean_iou:.4f}  pixel accuracy {pixel_accuracy:.4f}"
    train_settings = (
        Setting("head", "deeplabv3plus", choices=("deeplabv3plus", "fpn")),
        Setting("width", 96, positive_int, help="channels of the head"),
        Setting("subpixel", True, kind="switch",
                help="add sub-pixel detail to the upsampled logits (sharper corners and tips)"),
        Setting("dice", 0.0, non_negative_float, help="weight of the Dice loss added to cross-entropy"),
        Setting("class_weights", type=non_negative_float, nargs="*", help="one cross-entropy weight per class"),
    )
    train_defaults = {"batch_size": 16, "lr": 2e-3, "epochs": 30}

    def read(self, data, seed=0, val_fraction=0.1, test_fraction=0.2, images=None, image_size=None,
             unsplit_as_test=False):
        return load_segmentation_data(data, seed, val_fraction, test_fraction, images, image_size,
                                      unsplit_as_test=unsplit_as_test)

    def item_labels(self, part, index):
        return [int(k) for k in np.unique(part.mask(index)) if k != IGNORE]

    def inspect_sections(self, options):
        """Per-mask classes, counting pixels on the way (each mask is read once), and the pixel-share section."""
        counter = PixelCounts()
        return counter, counter.section

    def add_arguments(self, parser, action):
        if action == "predict":
            predict.add_arguments(parser)

    def build_model(self, config, info):
        names = info["class_names"]
        if config["class_weights"] and len(config["class_weights"]) != len(names):
            fail(f"--class-weights needs one weight per class ({len(names)}: {', '.join(names)})",
                 "Give exactly that many numbers", class_weights=config["class_weights"])
        backbone = configured_backbone(config)
        model = SemanticSegmenter(backbone, len(names), config["image_size"], names,
                                  [c["colour"] for c in info["class_table"]], head=config["head"],
                                  width=config["width"], subpixel=config["subpixel"])
        model.compile(optimizer=build_optimizer(config),
                      loss=SegmentationLoss(len(names), config["class_weights"], config["dice"]),
                      metrics=[MeanIoU(len(names), name="mean_iou")])
        return model

    def datasets(self, config, splits, info):
        augment = parse_augment(config["augment"])
        train_ds = segmentation_dataset(splits["train"], config["image_size"], config["batch_size"], training=True,
                                        seed=config["seed"], augment=augment)
        return train_ds, segmentation_dataset(splits["val"], config["image_size"], config["batch_size"])

    def evaluate(self, run, data=None, images=None, split=None, output=None, loaded=None, explain=True,
                 **options):
        return evaluate.evaluate_run(self, run, data, images, split, output, loaded, explain)

    def calibrate(self, model, part, config):
        return evaluate.calibrate(model, part)

    def class_aliases(self, model):
        """A colour mask's classes are named `#rrggbb` by the reader: the model's class of that colour."""
        return {"#%02x%02x%02x" % tuple(int(v) for v in colour): k for k, colour in enumerate(model.colours)}

    def scored(self, folder):
        return evaluate.scored(folder)

    label_tools = ("review", "suggest")
    prelabel_formats = ("masks",)

    def review(self, run, options):
        return review.review(self, run, options)

    def suggest(self, run, paths, options):
        return suggest.suggest(self, run, paths, options)

    inference = staticmethod(make_segment)
    predictions = staticmethod(predict.predictions)
    export_run = staticmethod(export.export_run)
    benchmark_prepare = staticmethod(benchmark.prepare)
    benchmark_score = staticmethod(benchmark.score)
    benchmark_difference = staticmethod(export.segmentation_difference)


TASK = Segmentation()
