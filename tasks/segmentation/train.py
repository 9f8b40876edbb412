"""Train a semantic segmenter; evaluate it (IoU) on the validation split at the end.

    trident segmentation train --data shapes --epochs 20
    trident segmentation train --data set.yaml --image-size 256 --head fpn --dice 0.5
    trident segmentation train --data shapes --backbone-weights runs/detection-shapes-compact/backbone.weights.h5

--data: `shapes` (built-in), a folder with images/ + masks/ (or train/ val/ test/ such
folders), a COCO JSON with polygons or RLE, or a dataset YAML with `train`, `val`,
`test`, `names`, and for colour masks `colors` (id: [r, g, b]); `mask_values` maps raw
mask values to class ids; 255 means ignore.
"""

import argparse


from shared.training import build_optimizer
from shared.config import add_training_args, non_negative_float, parse_args, positive_int
from shared.data.augment import parse_augment
from shared.data.segmentation import load_segmentation_data
from shared.data.segmentation_pipeline import segmentation_dataset
from shared.defaults import configured_backbone
from shared.train_flow import TaskSpec, train_task
from tasks.segmentation.losses import SegmentationLoss
from tasks.segmentation.metrics import MeanIoU
from tasks.segmentation.model import SemanticSegmenter


def get_args_parser():
    parser = argparse.ArgumentParser("trident segmentation train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_args(parser)
    parser.add_argument("--head", choices=("deeplabv3plus", "fpn"), default="deeplabv3plus")
    parser.add_argument("--width", type=positive_int, default=96, help="channels of the head")
    parser.add_argument("--subpixel", action=argparse.BooleanOptionalAction, default=True,
                        help="add sub-pixel detail to the upsampled logits (sharper corners and tips)")
    parser.add_argument("--dice", type=non_negative_float, default=0.0, help="weight of the Dice loss added to cross-entropy")
    parser.add_argument("--class-weights", type=non_negative_float, nargs="*", help="one cross-entropy weight per class")
    parser.set_defaults(batch_size=16, lr=2e-3, epochs=30)
    return parser


def load(config):
    return load_segmentation_data(config["data"], config["seed"], config["val_fraction"], config["test_fraction"],
                                  config["images"], config["image_size"])


def build_model(config, info):
    from shared.errors import fail

    names = info["class_names"]
    if config["class_weights"] and len(config["class_weights"]) != len(names):
        fail(f"--class-weights needs one weight per class ({len(names)}: {', '.join(names)})",
             "Give exactly that many numbers", class_weights=config["class_weights"])
    backbone = configured_backbone(config)
    model = SemanticSegmenter(backbone, len(names), config["image_size"], names,
                              [c["colour"] for c in info["class_table"]], head=config["head"], width=config["width"],
                              subpixel=config["subpixel"])
    model.compile(optimizer=build_optimizer(config),
                  loss=SegmentationLoss(len(names), config["class_weights"], config["dice"]),
                  metrics=[MeanIoU(len(names), name="mean_iou")])
    return model


def datasets(config, splits, info):
    augment = parse_augment(config["augment"])
    train_ds = segmentation_dataset(splits["train"], config["image_size"], config["batch_size"], training=True,
                                    seed=config["seed"], augment=augment)
    return train_ds, segmentation_dataset(splits["val"], config["image_size"], config["batch_size"])


def evaluate(run, batch_size, loaded):
    from tasks.segmentation.evaluate import evaluate_run

    paths, scores = evaluate_run(run, split="val", output=run.path, loaded=loaded)
    return paths, f"mean IoU {scores['mean_iou']:.4f}"


def pixel_sections(config):
    """Per-mask classes and the pixel-share section for the data inspection."""
    from tasks.segmentation.inspect import PixelCounts

    counter = PixelCounts()
    return counter, counter.section


# A pretrained backbone keeps every layer learning: the decoder takes its detail from P2, and aerial
# tiles are far from ImageNet's statistics (dubai_aerial, default command, test mean IoU: 0.477 with
# every layer learning, 0.414 frozen to P2 and 0.419 frozen to P1, batch norm frozen in both).
SPEC = TaskSpec("segmentation", load, build_model, datasets, evaluate, monitor="val_mean_iou", mode="max",
                default_image_size=lambda data: 128, builtins=("shapes",), inspect=pixel_sections,
                pretrained_frozen=("train", "none"))


def main(argv=None):
    return train_task(SPEC, parse_args(get_args_parser(), argv))


if __name__ == "__main__":
    main()
