"""The `train` action every task shares: data, run folder, resume, fit, backbone, report.

    trident classification train --data photos/ --time-budget 5m
    trident detection train --data annotations.json --images imgs/ --image-size 320
    trident segmentation train --config my.yaml --epochs 40

The task (`shared.task.Task`) supplies what differs: how its data is read, its model and
datasets, which value picks the best checkpoint, how it evaluates. The flow is the same for
all tasks, so resume, budgets and run folders behave identically everywhere. Re-running the
same command after an interruption resumes from the last finished epoch; raise --epochs to
train a finished run further; --restart starts over.
"""

import argparse
import math
import os
import shutil
import tempfile

from shared.actions.inspect import build_report
from shared.config import parse_args, parse_duration
from shared.paths import check_plain_name
from shared.data.files import outside_allowed
from shared.data.recorded import data_root, record_splits
from shared.engine.defaults import choose_defaults, fine_tune_lr_for
from shared.engine.distribute import (make_distribution, scaled_for_replicas, shard, sync_batch_norm_for,
                                      synchronize_batch_norm)
from shared.engine.lock import hold
from shared.engine.runs import Run, prepare_run, slug, write_manifest
from shared.engine.training import fit, save_backbone, set_seed
from shared.errors import fail, malformed
from shared.io import RECORD_FIX, read_record, write_json
from shared.settings import train_parser
from shared.task_model import load_checkpoint


def resolve_config(task, config):
    """Check `config` (the typed settings of the command line) before any data is read; the image size of
    built-in data is set here."""
    if not config.get("data"):
        fail("No data given", f"Pass --data (see `trident {task.name} train --help`)", data=None)
    if config["data"] in task.builtins and not config["image_size"]:
        config["image_size"] = task.default_image_size(config["data"])
    task.check(config)
    if config["val_fraction"] + config["test_fraction"] >= 1.0:
        fail("--val-fraction and --test-fraction together take all the data, leaving none to train on",
             "Keep their sum below 1, e.g. --val-fraction 0.1 --test-fraction 0.2",
             val_fraction=config["val_fraction"], test_fraction=config["test_fraction"])
    if config["name"]:
        check_plain_name(config["name"], "--name", "the run folder must stay inside --runs-dir",
                         "e.g. --name flowers-v2 (use --runs-dir to choose the parent)")
    parse_duration(config["time_budget"])  # fail early on a bad budget or backup interval
    _backup_seconds(config)
    if (config.get("image_size") or 0) > MAX_IMAGE_SIZE:
        fail(f"--image-size {config['image_size']} is above the largest size Trident trains at ({MAX_IMAGE_SIZE}): "
             "memory for activations grows with the square of the size",
             f"Use at most {MAX_IMAGE_SIZE} (cut large images into tiles, or let Trident choose the size from "
             "the data by leaving the flag out)", image_size=config["image_size"])


MAX_IMAGE_SIZE = 2048  # far above any size chosen from data; memory for activations grows with its square


def settle_defaults(task, config, explicit, splits, info):
    """Fill the settings the user left open from the data; record the reasons in `info`."""
    reasons, profile = choose_defaults(task, config, explicit, splits, config["data"] in task.builtins)
    # The run's default name holds the backbone the data chose.
    config["name"] = config["name"] or f"{task.name}-{slug(config['data'])}-{config['backbone']}"
    info["defaults"] = {key: {"value": config[key], "reason": why} for key, why in reasons.items()}
    info["profile"] = profile
    for key, entry in info["defaults"].items():
        print(f"{key}: {entry['value']} ({entry['reason']})")


def inspect_into_run(task, config, splits, info, run):
    """The same inspection as `trident <task> inspect`, kept in the run; problems are printed."""
    labels, extra = task.inspect_sections(config)
    report, findings = build_report(task, config["data"], splits, info, labels, extra)
    paths = report.write(run.file("inspection"))
    hashes = {entry["path"]: entry["sha1"] for entry in findings["files"] if "sha1" in entry}
    record_splits(run.file("splits.json"), splits, data_root(config["data"]), hashes)
    for line in findings["problems"] + findings["warnings"]:
        print(f"data: {line}")
    if findings["problems"] or findings["warnings"]:
        print(f"Data inspection: {paths['html']}")


def get_args_parser(task):
    """`train`'s settings (`shared.settings.TRAINING`) and the task's own, with the task's defaults."""
    return train_parser(task, prog=f"trident {task.name} train", description=task.description(__doc__),
                        formatter_class=argparse.RawDescriptionHelpFormatter)


def main(task, argv=None):
    parser = get_args_parser(task)
    args = parse_args(parser, argv)
    return train_task(task, parser.typed(args), set(args.explicit))


def train_task(task, config, explicit):
    """Run the whole `train` action with `config` (a typed `shared.settings.Config`) and the names of the
    settings the user gave (`explicit`: flags and YAML keys, which data-derived defaults never override);
    returns the `Run`, or None on a multi-worker worker that is not the chief (it writes no run folder)."""
    resolve_config(task, config)
    distribution = make_distribution(config.get("strategy") or "auto")  # before any other TensorFlow work
    if distribution.name != "one_device":
        print(f"strategy: {distribution.name}, {distribution.replicas} replicas on {distribution.workers} machine(s)"
              + ("" if distribution.is_chief else " (this one is not the chief: it writes no run folder)"))
    set_seed(config["seed"], config["deterministic"])
    with outside_allowed(config["allow_outside_data"]):  # listings naming files elsewhere: refused unless allowed
        splits, info = task.read(config["data"], config["seed"], config["val_fraction"], config["test_fraction"],
                                 config.get("images"), config["image_size"])
    if len(info["class_names"]) < 2 and not task.one_class_ok:
        fail(f"Data {config['data']} has only one class ({', '.join(info['class_names'])}): there is nothing to tell "
             "apart", task.second_class_fix, classes=info["class_names"])
    settle_defaults(task, config, explicit, splits, info)
    _scale_for_replicas(config, explicit, info, distribution)
    task.resolve(config)
    with distribution.scope():  # before the run folder exists: a size the backbone cannot take ends here
        model = _build(task, config, info)
    if not distribution.is_chief:
        return _train_on_worker(task, config, splits, info, model, distribution)
    with hold(os.path.join(config["runs_dir"], config["name"]), f"{task.name} train"):
        return _train_chief(task, config, splits, info, model, distribution)


def _train_chief(task, config, splits, info, model, distribution):
    """`train_task` from the run folder on, in the process that holds it (`shared.engine.lock`)."""
    run, status = prepare_run(config["runs_dir"], config["name"], config, config["restart"])
    if status != "new" and _recorded_fingerprint(run) != info["fingerprint"]:
        fail(f"The data of run {run.path} changed since it started", "Add --restart to train again on the new data",
             data=config["data"])
    if distribution.multi_worker:
        _agree_with_workers(distribution, config, status)
    if status == "complete":
        print(f"Run {run.path} already finished {run.state().get('epoch')} epochs. Raise --epochs to train further, "
              "or add --restart to start over.")
        return run
    write_json(run.file("data.json"), info)
    inspect_into_run(task, config, splits, info, run)
    write_manifest(run, config["seed"], info["fingerprint"], task.name)
    if info.get("skipped"):
        print(f"Skipped {len(info['skipped'])} unreadable image(s); they are listed in {run.file('data.json')}")
    if info.get("fixes"):
        print(f"Fixed while reading: {info['fixes']} (recorded in {run.file('data.json')})")

    resume = run.resume_point() if status == "resume" else None
    model, summary = _fit(task, config, splits, info, model, run, resume, distribution)
    if "fine_tune_lr" in summary:  # chosen when the whole network joined: the report says so with the others
        info["defaults"]["fine_tune_lr"] = summary["fine_tune_lr"]
        write_json(run.file("data.json"), info)
    save_backbone(model.backbone, run.backbone_weights)
    print(f"Training {summary['ended']} after {summary['epochs_done']} epochs, {summary['train_seconds']:.1f} s")
    if len(splits["val"]) > 0:
        _calibrate(task, run, splits["val"], config)
        paths, metrics = task.evaluate(run, split="val", output=run.path, loaded=(splits, info),
                                       batch_size=config["batch_size"])
        print(f"Validation: {task.summary(metrics)}. Report: {paths['html']}")
    print(f"Run folder: {run.path}")
    return run


def _recorded_fingerprint(run):
    path = run.file("data.json")
    with malformed(path, "Data record", RECORD_FIX):
        return read_record(path, "data record", missing={"fingerprint": None})["fingerprint"]


def _calibrate(task, run, part, config):
    """Fit the task's calibration (`Task.calibrate`) on the val split for the run's chosen checkpoint."""
    checkpoint = run.best_or_last()
    record = task.calibrate(load_checkpoint(checkpoint), part, config)
    if record:
        run.write_calibration({**record, "split": "val", "images": len(part)}, checkpoint)
        print("Calibration on the val split: " + ", ".join(
            f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}" for key, value in record.items()))


def _fit(task, config, splits, info, model, run, resume, distribution):
    """Train `model` into `run`, or the checkpoint of `resume` (`Run.resume_point()`, None for a new
    run); returns `(model, summary)`."""
    train_ds, val_ds = task.datasets(config, splits, info)
    has_val = len(splits["val"]) > 0
    if resume is not None:
        checkpoint, initial_epoch, first_batch = resume
        with distribution.scope():
            model = load_checkpoint(checkpoint)
        print(f"Resuming {run.path} from epoch {initial_epoch}"
              + (f", batch {first_batch} (a backup inside the epoch)" if first_batch else ""))
    else:
        initial_epoch, first_batch = 0, 0
    synchronize_batch_norm(model, sync_batch_norm_for(distribution, config["batch_size"]))
    monitor = task.monitor if has_val else task.monitor.replace("val_", "")
    train_ds = shard(train_ds, distribution, len(splits["train"]), config["batch_size"])
    summary = fit(model, train_ds, shard(val_ds, distribution) if has_val else None, run,
                  epochs=config["epochs"], monitor=monitor, mode=task.mode, lr=config["lr"],
                  warmup_epochs=config["warmup_epochs"], initial_epoch=initial_epoch,
                  train_images=len(splits["train"]),
                  steps_per_epoch=math.ceil(len(splits["train"]) / config["batch_size"]),
                  time_budget=parse_duration(config["time_budget"]), early_stopping=config["early_stopping"],
                  verbose=config["verbose"], keep="best" if config["early_stopping"] else task.keep,
                  first_batch=first_batch, backup_every=_backup_seconds(config) if distribution.is_chief else None,
                  distribution=distribution, head_epochs=_head_epochs(config), fine_tune_lr=_fine_tune_lr(config))
    return model, summary


def _fine_tune_lr(config):
    """`fit`'s `fine_tune_lr`: the user's rate, or for `auto` the rule that judges the head-first phase when
    the whole network joins (`fine_tune_lr_for`)."""
    value = config.get("fine_tune_lr", "auto")
    if value != "auto":
        return value
    lr = config["lr"]
    return lambda logs: fine_tune_lr_for(lr, logs)


def _head_epochs(config):
    """The run's head-first epochs: runs from before `--head-epochs` existed record none."""
    value = config.get("head_epochs", 0)
    return 0 if value in (None, "auto") else int(value)


def _scale_for_replicas(config, explicit, info, distribution):
    for key, why in scaled_for_replicas(config, explicit, distribution.replicas).items():
        info["defaults"][key] = {"value": config[key], "reason": why}
        print(f"{key}: {config[key]:g} ({why})")


# What every worker must share with the chief: the run's state, and the settings that shape the steps.
_STATUS = ("new", "resume", "complete")


def _agree_with_workers(distribution, config, status):
    """The chief's half of `_train_on_worker`'s handshake (one collective step)."""
    distribution.agree([_STATUS.index(status), *_shape_of_steps(config)])


def _shape_of_steps(config):
    return [config["batch_size"], config["image_size"] or 0, config["epochs"], config["lr"]]


def _train_on_worker(task, config, splits, info, model, distribution):
    """A worker other than the chief: train in step with it, writing only to a temporary run
    folder that is removed at the end. The chief decides (after its own checks) whether the
    run is new, resumed or complete; resuming reads the chief's checkpoint, so the run folder
    must be on storage every machine reads (as TensorFlow's own multi-worker checkpoints need)."""
    status, *chiefs = distribution.agree([0.0, *_shape_of_steps(config)])
    status = _STATUS[int(round(status))]
    if any(not math.isclose(mine, theirs, rel_tol=1e-6) for mine, theirs in zip(_shape_of_steps(config), chiefs)):
        fail(f"This worker's settings (batch, size, epochs, lr: {_shape_of_steps(config)}) differ from the chief's "
             f"({chiefs})", "Run the same command on the same data on every machine", strategy=distribution.name)
    if status == "complete":
        print("The chief reports the run already complete.")
        return None
    resume = None
    if status == "resume":
        chiefs_run = Run(os.path.join(config["runs_dir"], config["name"]))
        resume = chiefs_run.resume_point()
        if resume is None:
            fail(f"The chief resumes run {chiefs_run.path}, but this worker cannot read its checkpoints",
                 "Put --runs-dir on storage every machine reads (a shared or network file system)",
                 runs_dir=config["runs_dir"])
    scratch = tempfile.mkdtemp(prefix="trident-worker-")
    try:
        run, _ = prepare_run(scratch, config["name"], config, restart=True)
        _, summary = _fit(task, config, splits, info, model, run, resume, distribution)
        print(f"Worker: training {summary['ended']} after {summary['epochs_done']} epochs; the chief writes the run")
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build(task, config, info):
    """The task's new model, or the project's error when the backbone cannot take the image size."""
    try:
        return task.build_model(config, info)
    except ValueError as error:
        if "negative" not in str(error) and "zero" not in str(error):
            raise
        fail(f"--image-size {config['image_size']} is too small for backbone {config['backbone']}: its "
             "downsampling leaves no pixels", "Use a larger --image-size (32 or more suits every backbone), or a "
             "backbone made for small images (lenet5, compact)", image_size=config["image_size"])


def _backup_seconds(config):
    """Seconds between backups inside an epoch (`--backup-every`), None when off."""
    every = config.get("backup_every", "10m")
    if str(every).strip().lower() in ("off", "none", "0", ""):
        return None
    return parse_duration(every, "--backup-every")
