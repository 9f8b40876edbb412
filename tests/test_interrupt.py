"""Ctrl-C during training: exit 130, one line saying how to resume, no traceback; the same command resumes."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import tiny_train_args, write_class_folders

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sigint_mid_training_keeps_the_checkpoint_and_the_same_command_resumes(tmp_path):
    data = write_class_folders(tmp_path / "data", per_class=6)
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "tasks.cli", "classification", "train",
               *tiny_train_args(data, runs, "--name", "r"), "--epochs", "60"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = runs / "r" / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if state.is_file() and json.loads(state.read_text()).get("epoch", 0) >= 2:
            break
        time.sleep(0.05)
    assert child.poll() is None, "training ended before it could be interrupted"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130
    assert "interrupted; run the same command again to resume" in err and "Traceback" not in err
    stopped_at = json.loads(state.read_text())["epoch"]
    assert 2 <= stopped_at < 60 and (runs / "r" / "checkpoints" / "last.keras").is_file()
    assert not [p for p in (runs / "r").rglob("*") if ".tmp" in p.name]  # no half-written file left

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"Resuming {runs / 'r'} from epoch {stopped_at}" in again.stdout
    assert json.loads(state.read_text())["epochs_done"] == 60
