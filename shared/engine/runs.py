"""Run folders: one per training run, holding everything needed to resume, evaluate, export.

Layout:
    config.yaml            resolved configuration (flags over YAML over defaults)
    manifest.json          versions, seed, git commit, data fingerprint, command
    data.json              data source, split, class names, counts, skipped files
    state.json             last finished epoch, best value, how training ended
    checkpoints/last.keras checkpoints/best.keras   (model + optimizer)
    backbone.weights.h5    the backbone alone, for --backbone-weights in any task
    calibration.json       fitted on the val split after training (temperature, score threshold)
    log.csv  tensorboard/  report.{json,md,html}
"""

import csv
import hashlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid

import yaml

from shared.config import load_yaml, save_yaml
from shared.errors import fail, malformed
from shared.io import (RECORD_FIX, atomic_path, read_json, read_record, remove_stale_temporaries, write_json,
                       write_text)

CALIBRATION = "calibration.json"
MARKER = ".trident-run"  # written first into every run folder: only marked folders are resumed or deleted
# An epoch's checkpoint files before `state.json` names them (see `Run.commit_epoch`).
_PENDING = re.compile(r"^(?P<kind>last|best|partial)-(?P<token>[0-9a-f]{12})\.keras$")


class Run:
    """Paths and records of one run folder."""

    def __init__(self, path):
        self.path = os.path.abspath(path)

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def last_checkpoint(self):
        return self.file("checkpoints", "last.keras")

    @property
    def partial_checkpoint(self):
        return self.file("checkpoints", "partial.keras")

    def resume_point(self):
        """`(checkpoint, epoch, batches)` to resume from: a backup inside the epoch after the last
        finished one when there is one, else the last finished epoch; None when nothing is committed."""
        state = self.state()
        partial, epoch = state.get("partial"), state.get("epoch", 0)
        if partial and partial["epoch"] == epoch and os.path.isfile(self.partial_checkpoint):
            return self.partial_checkpoint, epoch, partial["batches"]
        if "epoch" in state and os.path.isfile(self.last_checkpoint):
            return self.last_checkpoint, epoch, 0
        return None

    @property
    def best_checkpoint(self):
        return self.file("checkpoints", "best.keras")

    @property
    def backbone_weights(self):
        return self.file("backbone.weights.h5")

    def config(self):
        """The settings recorded in `config.yaml`, as written (a task's actions read them through their checks:
        `shared.settings.run_config`)."""
        try:
            values = load_yaml(self.file("config.yaml"))
        except (OSError, yaml.YAMLError) as error:
            fail(f"The run's settings {self.file('config.yaml')} cannot be read ({error})",
                 "Restore the file, or train again with --restart", run=self.path)
        if not isinstance(values, dict):
            fail(f"The run's settings {self.file('config.yaml')} are not a mapping of settings to values",
                 "Restore the file, or train again with --restart", run=self.path)
        return values

    def state(self):
        """`state.json`: finished epochs, the committed checkpoint's token, a backup inside an epoch."""
        path = self.file("state.json")
        state = read_record(path, "training state", missing={})
        with malformed(path, "Training state", RECORD_FIX):
            epoch, token, partial = state.get("epoch"), state.get("checkpoint"), state.get("partial")
            if epoch is not None and (type(epoch) is not int or epoch < 0):
                raise ValueError(f"`epoch` is {epoch!r}, not a count of epochs")
            if token is not None and not isinstance(token, str):
                raise TypeError(f"`checkpoint` is {token!r}, not a checkpoint's name")
            if partial is not None and not (type(partial["epoch"]) is int and type(partial["batches"]) is int
                                            and isinstance(partial["checkpoint"], str)):
                raise ValueError(f"`partial` is {partial!r}")
        return state

    def write_state(self, **updates):
        state = self.state()
        state.update(updates)
        write_json(self.file("state.json"), state)
        return state

    def commit_epoch(self, epoch, save, log_row, improved, **state):
        """Record a finished epoch so that a failure at any point leaves the previous one or this one.

        The checkpoint (and its copy as the new best) are written under names of their
        own, the log row is added, then `state.json` names them: that write is the
        commit. Only then do they take the names `last.keras` and `best.keras`; a failure
        in between is finished by `settle` (the next run, or `best_or_last`).

        Args:
            epoch: int, epochs finished (the row's epoch is `epoch - 1`).
            save: `path -> None` writing the model to a `.keras` path.
            log_row: dict of the epoch's logged values.
            improved: whether this epoch becomes `best.keras`.
            state: more `state.json` values.
        """
        token = uuid.uuid4().hex[:12]
        pending = self.file("checkpoints", f"last-{token}.keras")
        with atomic_path(pending, suffix=".keras") as tmp:
            save(tmp)
        if improved:
            with atomic_path(self.file("checkpoints", f"best-{token}.keras"), suffix=".keras") as tmp:
                shutil.copyfile(pending, tmp)
        self._write_log(self._log_rows() + [{"epoch": epoch - 1, **log_row}])
        self.write_state(epoch=epoch, checkpoint=token, partial=None, **state)
        self.settle()

    def commit_partial(self, epoch, batches, save):
        """Record a backup inside epoch `epoch` (0-based) after `batches` of its batches, like `commit_epoch`."""
        token = uuid.uuid4().hex[:12]
        with atomic_path(self.file("checkpoints", f"partial-{token}.keras"), suffix=".keras") as tmp:
            save(tmp)
        self.write_state(partial={"epoch": epoch, "batches": batches, "checkpoint": token})
        self.settle()

    def settle(self):
        """Finish a commit a failure interrupted, and remove what no commit names.

        Checkpoint files `state.json` names move into place; other pending checkpoints and
        temporaries of killed writes are deleted; log rows past the committed epoch go.
        """
        state = self.state()
        epoch, partial = state.get("epoch"), state.get("partial")
        tokens = {"last": state.get("checkpoint"), "best": state.get("checkpoint"),
                  "partial": partial["checkpoint"] if partial else None}
        folder = self.file("checkpoints")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            pending, path = _PENDING.match(name), os.path.join(folder, name)
            if pending and pending["token"] == tokens[pending["kind"]]:
                os.replace(path, os.path.join(folder, f"{pending['kind']}.keras"))
            elif pending or (name == "partial.keras" and not partial):
                os.remove(path)
        for place in (folder, self.path, self.file("evaluation")):
            remove_stale_temporaries(place)
        rows = self._log_rows()
        if epoch is not None and any(int(float(row["epoch"])) >= epoch for row in rows):
            self._write_log([row for row in rows if int(float(row["epoch"])) < epoch])

    def _log_rows(self):
        path = self.file("log.csv")
        if not os.path.isfile(path):
            return []
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def _write_log(self, rows):
        columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, restval="NA", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.file("log.csv"), text.getvalue())

    def best_or_last(self):
        token = self.state().get("checkpoint")
        for kind in ("best", "last"):
            names = ([f"{kind}-{token}.keras"] if token else []) + [f"{kind}.keras"]
            for path in (self.file("checkpoints", name) for name in names):
                if os.path.isfile(path):
                    return path
        fail(f"Run folder {self.path} has no checkpoint yet",
             "Train it first (or wait for its first epoch to finish)", run=self.path)

    def calibration(self, checkpoint):
        """What training fitted on the val split for `checkpoint` (`calibration.json`: a classifier's
        temperature, a detector's score threshold), or {} when there is none or it was fitted for another
        checkpoint (training went on without finishing)."""
        path = self.file(CALIBRATION)
        if not os.path.isfile(path):
            return {}
        try:
            record = read_json(path)
        except (OSError, ValueError):
            print(f"warning: {path} cannot be read; the model's scores are used as they are (train again to refit)")
            return {}
        if not isinstance(record, dict) or record.get("checkpoint_sha1") != file_sha1(checkpoint):
            return {}
        return record

    def write_calibration(self, record, checkpoint):
        write_json(self.file(CALIBRATION), {**record, "checkpoint_sha1": file_sha1(checkpoint)})


def file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_trident_run(run):
    """True for a folder Trident created: its marker, or (runs from before the marker) config and manifest."""
    return os.path.isfile(run.file(MARKER)) or (os.path.isfile(run.file("config.yaml"))
                                                 and os.path.isfile(run.file("manifest.json")))


def open_run(path):
    """An existing run folder, or a clear error."""
    if not path or not os.path.isfile(os.path.join(path, "config.yaml")):
        fail(f"{path} is not a Trident run folder (no config.yaml)",
             "Pass a folder under runs/ written by `trident <task> train`", run=path)
    return Run(path)


def prepare_run(runs_dir, name, config, restart=False):
    """Create or reopen `runs_dir/name` for training.

    Returns:
        (run, status): status is "new", "resume" (a checkpoint exists and more epochs
        are asked for) or "complete" (nothing left to train).
    """
    run = Run(os.path.join(runs_dir, name))
    if os.path.exists(run.path) and not os.path.isdir(run.path):
        fail(f"{run.path} exists and is a file, not a run folder", "Choose another --name or --runs-dir", name=name)
    ours = is_trident_run(run)
    if os.path.isdir(run.path) and os.listdir(run.path) and not ours:
        fail(f"{run.path} exists and is not a Trident run folder (it has no {MARKER} marker)",
             "Choose another --name or --runs-dir; Trident neither writes into nor deletes a folder it did not "
             "create", name=name)
    if ours and not restart:
        run.settle()
    if restart and ours:
        shutil.rmtree(run.path)
    elif ours and run.resume_point() is not None:
        previous = run.config()
        changed = config.changed_from(previous)  # what a resumed run may change, each setting says
        if changed:
            shown = ", ".join(f"{k}: {previous.get(k)!r} -> {config.get(k)!r}" for k in changed)
            fail(f"Run {run.path} exists with different settings ({shown})",
                 "Re-run with the original settings to resume, add --restart to start over, "
                 "or pick a new --name", name=name)
        done = run.state().get("epoch", 0)
        if done >= config["epochs"]:  # nothing to train: the record keeps the epochs the run has
            return run, "complete"
        save_yaml(run.file("config.yaml"), config.as_dict())
        return run, "resume"
    if ours:  # a run that never finished an epoch: what it wrote records nothing
        shutil.rmtree(run.file("checkpoints"), ignore_errors=True)
        for name in ("state.json", "log.csv"):
            if os.path.isfile(run.file(name)):
                os.remove(run.file(name))
    os.makedirs(run.file("checkpoints"), exist_ok=True)
    write_json(run.file(MARKER), {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    save_yaml(run.file("config.yaml"), config.as_dict())
    return run, "new"


def write_manifest(run, seed, data_fingerprint, task):
    import keras
    import numpy
    import tensorflow as tf

    versions = {"python": platform.python_version(), "tensorflow": tf.__version__,
                "keras": keras.__version__, "numpy": numpy.__version__}
    for module in ("sklearn", "keras_cv", "trident"):
        try:
            from importlib.metadata import version

            versions[module] = version({"sklearn": "scikit-learn", "keras_cv": "keras-cv"}.get(module, module))
        except Exception:
            versions[module] = None
    write_json(run.file("manifest.json"), {
        "task": task,
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": seed,
        "git_commit": git_commit(),
        "data_fingerprint": data_fingerprint,
        "versions": versions,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    })


def is_other_data(data, config):
    """True when `evaluate --data` names data other than the run's own.

    Such data is scored by its own test split, or whole when it has no splits; the
    run's own data keeps the seeded split it was trained with, so training images are
    never scored as test images.
    """
    if not data:
        return False
    if os.path.exists(str(data)):
        return os.path.abspath(str(data)) != os.path.abspath(str(config["data"]))
    return str(data) != str(config["data"])


def git_commit():
    """The commit of the Trident checkout this code runs from, or None outside git."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def slug(text):
    """A folder-safe short name for a data spec or model name: `../data/My Set.yaml` -> `my-set`."""
    import re

    base = os.path.splitext(os.path.basename(os.path.normpath(str(text))))[0] or "data"
    return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-") or "data"


def model_kind(path):
    """`"run"` for a run folder, `"saved_model"` for an export (or a folder of versions)."""
    if os.path.isfile(os.path.join(path, "config.yaml")):
        return "run"
    if os.path.isfile(os.path.join(path, "saved_model.pb")) or (
            os.path.isdir(path) and any(d.isdigit() for d in os.listdir(path))):
        return "saved_model"
    fail(f"{path} is neither a run folder nor an exported SavedModel",
         "Pass runs/<name> from `train` or saved_models/<name>[/<version>] from `export`", model=path)
