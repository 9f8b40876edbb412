"""Faults during training and export: what survives a kill, Ctrl-C or a failed write, and what a re-run does.

Every case ends in the project's own error or the documented behaviour, and the same
command afterwards finishes the run with the right epoch count and a consistent record.
"""

import pytest
import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time

from tasks.cli import main as trident
from tests.factories import tiny_train_args, write_class_folders

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_consistent(run, epochs):
    """The run finished `epochs` epochs, logged each once, and left no temporary or pending file."""
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == epochs and state["epochs_done"] == epochs
    with open(run / "log.csv", newline="") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(epochs))
    assert sorted(os.listdir(run / "checkpoints")) == ["best.keras", "last.keras"]
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]


def test_a_signal_mid_training_keeps_the_last_epoch_and_the_same_command_resumes(tmp_path):
    """Ctrl-C after epoch 2, then SIGKILL two epochs after the resume: each time the run keeps its
    last finished epoch, and the same command finishes it with every epoch logged once."""
    data = write_class_folders(tmp_path / "data", per_class=6)
    runs = tmp_path / "runs"
    epochs = 12  # time enough to be stopped twice, little to finish after the second resume
    command = [sys.executable, "-m", "tasks.cli", "classification", "train",
               *tiny_train_args(data, runs, "--name", "r"), "--epochs", str(epochs)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    state = runs / "r" / "state.json"
    stopped_at = 0
    for sig in (signal.SIGINT, signal.SIGKILL):
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if state.is_file() and json.loads(state.read_text()).get("epoch", 0) >= stopped_at + 2:
                break
            time.sleep(0.02)
        assert child.poll() is None, "training ended before it could be interrupted"
        child.send_signal(sig)
        out, err = child.communicate(timeout=120)
        if sig == signal.SIGINT:
            assert child.returncode == 130
            assert "interrupted; run the same command again to resume" in err and "Traceback" not in err
        else:
            assert child.returncode == -signal.SIGKILL
            assert f"Resuming {runs / 'r'} from epoch {stopped_at}" in out
        stopped_at = json.loads(state.read_text())["epoch"]
        assert 2 <= stopped_at < epochs and (runs / "r" / "checkpoints" / "last.keras").is_file()

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"Resuming {runs / 'r'} from epoch {stopped_at}" in again.stdout
    assert_consistent(runs / "r", epochs)


# The file moves of one epoch's commit, in order: the new checkpoint, its copy as the new
# best, the log with the epoch's row, state.json (the commit), then the two names users see.
COMMIT_STEPS = ["checkpoint", "best copy", "log row", "state (commit)", "last.keras in place", "best.keras in place"]


def test_a_failed_write_at_any_step_of_a_checkpoint_loses_nothing(tmp_path, monkeypatch, capsys):
    """One run meets a full disk at each step of the commit in turn (each resume ends in the next
    failure); the same command afterwards finishes it with every epoch logged once."""
    data = write_class_folders(tmp_path / "data", per_class=4)
    runs = tmp_path / "runs"
    args = ["classification", "train", *tiny_train_args(data, runs, "--name", "w")]
    assert trident([*args, "--epochs", "1"]) == 0

    from shared.engine import runs as runs_module

    real_replace = os.replace
    for step, name in enumerate(COMMIT_STEPS):
        calls = []

        def full_disk(source, target):
            if _commit_move(target):
                calls.append(target)
                if len(calls) == step + 1:
                    raise OSError(errno.ENOSPC, "No space left on device", str(target))
            return real_replace(source, target)

        monkeypatch.setattr(runs_module.os, "replace", full_disk)
        assert trident([*args, "--epochs", str(step + 2)]) == 1, name
        err = capsys.readouterr().err
        assert "No space left on device" in err and "Free disk space" in err and "Traceback" not in err, name
        assert len(calls) == step + 1, name  # the failure fell on this step of the commit
    monkeypatch.setattr(runs_module.os, "replace", real_replace)

    assert trident([*args, "--epochs", str(len(COMMIT_STEPS) + 2)]) == 0
    assert_consistent(runs / "w", len(COMMIT_STEPS) + 2)


def _commit_move(target):
    name = os.path.basename(str(target))
    return name.endswith(".keras") or name in ("log.csv", "state.json")


def test_a_read_only_run_folder_is_the_projects_error(tmp_path, monkeypatch, capsys):
    data = write_class_folders(tmp_path / "data", per_class=4)
    runs = tmp_path / "runs"

    def read_only(path, *args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system", str(path))

    from shared.engine import runs as runs_module

    monkeypatch.setattr(runs_module.os, "makedirs", read_only)
    assert trident(["classification", "train", *tiny_train_args(data, runs, "--name", "ro")]) == 1
    err = capsys.readouterr().err
    assert "Read-only file system" in err and str(runs) in err and "writable" in err and "Traceback" not in err
    assert not runs.exists()


def test_an_image_size_the_backbone_cannot_take_is_refused_before_the_run_folder_exists(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=4)
    args = tiny_train_args(data, tmp_path / "runs", "--name", "small")
    args[args.index("--backbone") + 1] = "mobilenet_v3_small"
    args[args.index("--image-size") + 1] = "8"
    assert trident(["classification", "train", *args]) == 1
    err = capsys.readouterr().err
    assert "--image-size 8 is too small for backbone mobilenet_v3_small" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_a_run_stopped_inside_an_epoch_resumes_at_the_next_batch(tmp_path, monkeypatch, capsys):
    import math

    from shared.engine.callbacks import PartialBackup
    from shared.task_model import load_checkpoint

    data = write_class_folders(tmp_path / "data", per_class=10)
    runs = tmp_path / "runs"
    args = ["classification", "train", *tiny_train_args(data, runs, "--name", "p"), "--epochs", "3",
            "--backup-every", "0.001s"]
    original = PartialBackup.on_train_batch_begin

    def stop_inside_the_second_epoch(self, batch, logs=None):
        original(self, batch, logs)  # backs up the 5 batches done before batch index 5
        if self.epoch == 1 and batch == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(PartialBackup, "on_train_batch_begin", stop_inside_the_second_epoch)
    assert trident(args) == 130
    state = json.loads((runs / "p" / "state.json").read_text())
    assert state["epoch"] == 1 and state["partial"]["epoch"] == 1 and state["partial"]["batches"] == 5
    monkeypatch.setattr(PartialBackup, "on_train_batch_begin", original)

    capsys.readouterr()
    assert trident(args) == 0
    assert f"Resuming {runs / 'p'} from epoch 1, batch 5" in capsys.readouterr().out
    assert_consistent(runs / "p", 3)
    # Every batch trained exactly once: the optimizer took 3 epochs' steps, no more, no fewer.
    train = json.loads((runs / "p" / "data.json").read_text())["counts"]["train"]
    steps = math.ceil(train / 2)
    assert int(load_checkpoint(str(runs / "p" / "checkpoints" / "last.keras")).optimizer.iterations) == 3 * steps
    assert json.loads((runs / "p" / "state.json").read_text())["partial"] is None


def test_a_huge_image_size_is_refused_before_anything_starts(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=4)
    args = tiny_train_args(data, tmp_path / "runs", "--name", "huge")
    args[args.index("--image-size") + 1] = "100000"
    assert trident(["classification", "train", *args]) == 1
    assert "above the largest size Trident trains at" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
