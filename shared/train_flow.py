"""The `train` action every task shares: data, run folder, resume, fit, backbone, report.

A task's `train.py` supplies what differs (how to load its data, build its model and
datasets, which value picks the best checkpoint, how to evaluate) and calls
`train_task`. The flow is the same for all tasks, so resume, budgets and run folders
behave identically everywhere.
"""

import dataclasses
import math
from typing import Callable

from shared.config import parse_duration
from shared.errors import fail
from shared.io import read_json, write_json
from shared.runs import prepare_run, slug, write_manifest
from shared.training import fit, load_checkpoint, save_backbone, set_seed


@dataclasses.dataclass
class TaskSpec:
    """What one task plugs into `train_task`.

    load: `config -> (splits, info)`.
    build_model: `(config, info) -> compiled model` (fresh runs).
    datasets: `(config, splits, info) -> (train_ds, val_ds)`.
    evaluate: `(run, batch_size) -> (report paths, one-line summary)` on the val split.
    monitor, mode: the logged value choosing `best.keras`, when there is a val split.
    """

    task: str
    load: Callable
    build_model: Callable
    datasets: Callable
    evaluate: Callable
    monitor: str = "val_loss"
    mode: str = "min"
    default_image_size: Callable = lambda data: 128


def resolve_config(spec, args):
    config = vars(args).copy()
    if not config.get("data"):
        fail("No data given", f"Pass --data (see `trident {spec.task} train --help`)", data=None)
    config["image_size"] = config["image_size"] or spec.default_image_size(config["data"])
    config["name"] = config["name"] or f"{spec.task}-{slug(config['data'])}-{config['backbone']}"
    parse_duration(config["time_budget"])  # fail early on a bad budget
    return config


def train_task(spec, args):
    """Run the whole `train` action; returns the `Run`."""
    config = resolve_config(spec, args)
    set_seed(config["seed"], config["deterministic"])
    splits, info = spec.load(config)
    run, status = prepare_run(config["runs_dir"], config["name"], config, config["restart"])
    if status != "new" and read_json(run.file("data.json"))["fingerprint"] != info["fingerprint"]:
        fail(f"The data of run {run.path} changed since it started", "Add --restart to train again on the new data",
             data=config["data"])
    if status == "complete":
        print(f"Run {run.path} already finished {config['epochs']} epochs. Raise --epochs to train further, "
              "or add --restart to start over.")
        return run
    write_json(run.file("data.json"), info)
    write_manifest(run, config["seed"], info["fingerprint"], spec.task)
    if info.get("skipped"):
        print(f"Skipped {len(info['skipped'])} unreadable image(s); they are listed in {run.file('data.json')}")
    if info.get("fixes"):
        print(f"Fixed while reading: {info['fixes']} (recorded in {run.file('data.json')})")

    train_ds, val_ds = spec.datasets(config, splits, info)
    has_val = len(splits["val"]) > 0
    if status == "resume":
        model = load_checkpoint(run.last_checkpoint)
        initial_epoch = run.state()["epoch"]
        print(f"Resuming {run.path} from epoch {initial_epoch}")
    else:
        model = spec.build_model(config, info)
        initial_epoch = 0
    monitor = spec.monitor if has_val else spec.monitor.replace("val_", "")
    summary = fit(model, train_ds, val_ds if has_val else None, run, epochs=config["epochs"], monitor=monitor,
                  mode=spec.mode, lr=config["lr"], warmup_epochs=config["warmup_epochs"], initial_epoch=initial_epoch,
                  train_images=len(splits["train"]),
                  steps_per_epoch=math.ceil(len(splits["train"]) / config["batch_size"]),
                  time_budget=parse_duration(config["time_budget"]), early_stopping=config["early_stopping"],
                  verbose=config["verbose"])
    save_backbone(model.backbone, run.backbone_weights)
    print(f"Training {summary['ended']} after {summary['epochs_done']} epochs, {summary['train_seconds']:.1f} s")
    if has_val:
        paths, line = spec.evaluate(run, config["batch_size"])
        print(f"Validation: {line}. Report: {paths['html']}")
    print(f"Run folder: {run.path}")
    return run
