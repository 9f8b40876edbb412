"""Train an object detector; evaluate it (COCO AP) on the validation split at the end.

    trident detection train --data shapes --epochs 30
    trident detection train --data annotations.json --images imgs/ --image-size 320 --time-budget 10m
    trident detection train --data voc_folder/ --backbone mobilenet_v3_small
    python -m tasks.detection.train --config tasks/detection/configs/shapes.yaml

--data: `shapes` (built-in), a COCO JSON, a folder with images/ + annotations/ (Pascal
VOC XML) or images/ + labels/ (YOLO txt), such a folder with train/ val/ test/, or a
dataset YAML (`path`, `train`, `val`, `test`, `names`). Resume, budgets and run folders
work as for classification.
"""

import argparse


from shared.training import build_optimizer
from shared.config import add_training_args, parse_args, positive_int
from shared.data.augment import BOX_ONLY, parse_augment
from shared.data.detection import load_detection_data
from shared.data.detection_pipeline import build_box_augmenter, detection_dataset
from shared.defaults import configured_backbone
from shared.errors import fail
from shared.train_flow import TaskSpec, train_task
from tasks.detection.inspect import box_sections
from tasks.detection.model import build_detector


def get_args_parser():
    parser = argparse.ArgumentParser("trident detection train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_args(parser)
    parser.add_argument("--width", type=positive_int, default=64, help="channels of the neck and head")
    parser.add_argument("--head", choices=("lean", "full"), default="lean",
                        help="detection head: lean (under half the multiply-adds) or full")
    parser.add_argument("--max-boxes", type=positive_int, default=100, help="objects per image kept for training")
    parser.set_defaults(batch_size=16, lr=2e-3, weight_decay=5e-4, epochs=30)
    return parser


def load(config):
    if config["image_size"] and config["image_size"] % 32:
        fail("Detection needs an image size that is a multiple of 32", "Use for example --image-size 320",
             image_size=config["image_size"])
    return load_detection_data(config["data"], config["seed"], config["val_fraction"], config["test_fraction"],
                               config["images"], config["image_size"])


def build_model(config, info):
    backbone = configured_backbone(config)
    model = build_detector(backbone, len(info["class_names"]), config["image_size"], info["class_names"],
                           width=config["width"], head=config["head"])
    model.compile(optimizer=build_optimizer(config))
    return model


def datasets(config, splits, info):
    augment = build_box_augmenter(parse_augment(config["augment"], BOX_ONLY), config["seed"],
                                  config["image_size"])
    max_boxes = min(config["max_boxes"], max(part.max_objects() for part in splits.values() if len(part)))
    train_ds = detection_dataset(splits["train"], config["image_size"], config["batch_size"], max_boxes,
                                 training=True, seed=config["seed"], augment=augment)
    return train_ds, detection_dataset(splits["val"], config["image_size"], config["batch_size"], max_boxes)


def evaluate(run, batch_size, loaded):
    from tasks.detection.evaluate import evaluate_run

    paths, coco = evaluate_run(run, split="val", output=run.path, loaded=loaded)
    return paths, f"AP {coco['AP']:.4f}, AP50 {coco['AP50']:.4f}"


def object_flip_probe(splits, seed):
    """Whether mirroring keeps classes, measured on crops of the objects (one class: always)."""
    from shared.data.flip_probe import flip_probe, object_crops

    if len(splits["train"].class_names) < 2:
        return {"safe": True, "why": "one class, so a mirrored object cannot become another class"}
    return flip_probe(object_crops(splits["train"], seed), object_crops(splits["val"], seed), seed)


SPEC = TaskSpec("detection", load, build_model, datasets, evaluate, monitor="val_loss", mode="min",
                default_image_size=lambda data: 128, builtins=("shapes",), flip_probe=object_flip_probe,
                inspect=lambda config: (lambda part, i: [int(c) for c in part.labels[i]],
                                        box_sections(config["max_boxes"])))


def main(argv=None):
    return train_task(SPEC, parse_args(get_args_parser(), argv))


if __name__ == "__main__":
    main()
