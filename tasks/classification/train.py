"""Train an image classifier; evaluate it on the validation split at the end.

    trident classification train --data digits --backbone lenet5 --epochs 10
    python -m tasks.classification.train --config tasks/classification/configs/digits.yaml
    trident classification train --data photos/ --image-size 128 --time-budget 10m

Re-running the same command after an interruption resumes from the last finished
epoch; raise --epochs to train a finished run further; --restart starts over.
"""

import argparse
import math

import keras

from shared.backbones import build_backbone
from shared.config import add_training_args, parse_args, parse_duration
from shared.data.augment import build_augmenter, parse_augment
from shared.data.builtin import NO_FLIP
from shared.data.classification import load_classification_data
from shared.data.pipeline import image_dataset
from shared.errors import fail
from shared.io import read_json, write_json
from shared.runs import prepare_run, slug, write_manifest
from shared.training import fit, load_checkpoint, save_backbone, set_seed
from tasks.classification.model import build_classifier

DEFAULT_IMAGE_SIZE = {"digits": 32}


def get_args_parser():
    parser = argparse.ArgumentParser("trident classification train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_args(parser)
    parser.add_argument("--pooling", choices=("avg", "flatten"), help="head pooling (default per backbone)")
    parser.add_argument("--head-units", type=int, nargs="*", help="hidden dense layers of the head")
    parser.add_argument("--dropout", type=float, help="dropout in the head")
    return parser


def resolve_config(args):
    config = vars(args).copy()
    if not config.get("data"):
        fail("No data given", "Pass --data digits, a folder of class sub-folders, a CSV or a dataset YAML", data=None)
    config["image_size"] = config["image_size"] or DEFAULT_IMAGE_SIZE.get(config["data"], 128)
    config["name"] = config["name"] or f"classification-{slug(config['data'])}-{config['backbone']}"
    parse_duration(config["time_budget"])  # fail early on a bad budget
    return config


def build_model(config, class_names):
    backbone = build_backbone(config["backbone"], weights=config["backbone_weights"])
    model = build_classifier(backbone, len(class_names), config["image_size"], class_names,
                             pooling=config["pooling"], head_units=config["head_units"], dropout=config["dropout"])
    model.compile(optimizer=keras.optimizers.AdamW(config["lr"], weight_decay=config["weight_decay"]))
    return model


def main(argv=None):
    config = resolve_config(parse_args(get_args_parser(), argv))
    set_seed(config["seed"], config["deterministic"])
    splits, info = load_classification_data(config["data"], config["seed"], config["val_fraction"],
                                            config["test_fraction"])
    run, status = prepare_run(config["runs_dir"], config["name"], config, config["restart"])
    if status != "new" and read_json(run.file("data.json"))["fingerprint"] != info["fingerprint"]:
        fail(f"The data of run {run.path} changed since it started", "Add --restart to train again on the new data",
             data=config["data"])
    if status == "complete":
        print(f"Run {run.path} already finished {config['epochs']} epochs. Raise --epochs to train further, "
              "or add --restart to start over.")
        return run
    write_json(run.file("data.json"), info)
    write_manifest(run, config["seed"], info["fingerprint"], "classification")
    if info["skipped"]:
        print(f"Skipped {len(info['skipped'])} unreadable image(s); they are listed in {run.file('data.json')}")

    names = info["class_names"]
    augment = parse_augment(config["augment"], allow_flip=config["data"] not in NO_FLIP)
    train_ds = image_dataset(splits["train"], config["image_size"], config["batch_size"], training=True,
                             seed=config["seed"], augmenter=build_augmenter(augment, config["seed"]))
    val_ds = image_dataset(splits["val"], config["image_size"], config["batch_size"])

    if status == "resume":
        model = load_checkpoint(run.last_checkpoint)
        initial_epoch = run.state()["epoch"]
        print(f"Resuming {run.path} from epoch {initial_epoch}")
    else:
        model = build_model(config, names)
        initial_epoch = 0
    summary = fit(model, train_ds, val_ds if len(splits["val"]) else None, run, epochs=config["epochs"],
                  monitor="val_accuracy" if len(splits["val"]) else "accuracy", mode="max", lr=config["lr"],
                  warmup_epochs=config["warmup_epochs"], initial_epoch=initial_epoch,
                  train_images=len(splits["train"]),
                  steps_per_epoch=math.ceil(len(splits["train"]) / config["batch_size"]), time_budget=parse_duration(config["time_budget"]),
                  early_stopping=config["early_stopping"], verbose=config["verbose"])
    save_backbone(model.backbone, run.backbone_weights)
    print(f"Training {summary['ended']} after {summary['epochs_done']} epochs, {summary['train_seconds']:.1f} s")

    if len(splits["val"]):
        from tasks.classification.evaluate import evaluate_run

        paths, metrics = evaluate_run(run, split="val", output=run.path, batch_size=config["batch_size"])
        print(f"Validation accuracy {metrics['accuracy']:.4f}. Report: {paths['html']}")
    print(f"Run folder: {run.path}")
    return run


if __name__ == "__main__":
    main()
