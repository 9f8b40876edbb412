"""One command at a time on a run folder, and one export per version: each case with two real processes.

A child process holds the run (the lock `train` takes) until the test lets it go; the test's own
commands then meet it as a second command would.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from shared.engine.lock import hold, lock_path
from shared.errors import TridentError
from tasks.cli import main as trident
from tests.factories import tiny_train_args, write_class_folders

pytestmark = pytest.mark.large  # trains and spawns processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def holder(run_path, release):
    """A child process holding `run_path` as `classification train` would, until `release` exists."""
    script = textwrap.dedent(f"""
        import os, time
        from shared.engine.lock import hold
        with hold({str(run_path)!r}, "classification train"):
            print("holding", flush=True)
            while not os.path.exists({str(release)!r}):
                time.sleep(0.05)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "holding"
    return child


def test_a_held_run_refuses_train_restart_evaluate_and_export_and_is_free_after(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=4)
    runs = tmp_path / "runs"
    args = tiny_train_args(data, runs, "--name", "held")
    assert trident(["classification", "train", *args]) == 0
    run = runs / "held"
    before = sorted(p.name for p in run.rglob("*"))
    child = holder(run, tmp_path / "release")
    try:
        capsys.readouterr()
        for command in (["train", *args, "--restart"], ["train", *args, "--epochs", "2"],
                        ["evaluate", "--run", str(run)], ["export", "--run", str(run), "--output-dir",
                                                          str(tmp_path / "models")]):
            assert trident(["classification", *command]) == 1, command
            err = capsys.readouterr().err
            assert (f"Run {run} is in use: `trident classification train` holds it (process {child.pid}"
                    in err), err
            assert "Traceback" not in err
        assert sorted(p.name for p in run.rglob("*")) == before  # --restart deleted nothing
        assert not (tmp_path / "models").exists()
    finally:
        (tmp_path / "release").touch()
        child.wait(timeout=60)
    assert not os.path.exists(lock_path(run))
    assert trident(["classification", "train", *args, "--epochs", "2"]) == 0
    assert json.loads((run / "state.json").read_text())["epoch"] == 2


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    run = tmp_path / "runs" / "gone"
    child = holder(run, tmp_path / "never")
    child.kill()
    child.wait(timeout=60)
    assert json.loads(open(lock_path(run)).read())["pid"] == child.pid  # left behind by the kill
    with hold(str(run), "classification evaluate"):
        assert json.loads(open(lock_path(run)).read())["pid"] == os.getpid()
    assert not os.path.exists(lock_path(run))


def test_a_lock_of_another_host_is_respected(tmp_path):
    run = tmp_path / "runs" / "shared"
    os.makedirs(run)
    with open(lock_path(run), "w") as f:
        json.dump({"pid": 1, "host": "elsewhere", "command": "trident detection train", "since": "then"}, f)
    with pytest.raises(TridentError, match="process 1 on elsewhere.*delete .*shared.lock"):
        with hold(str(run), "detection export"):
            pass


def test_two_exports_at_once_claim_two_versions(tmp_path):
    """Two processes ask for the next version of one name at the same moment (both past their imports)."""
    start = tmp_path / "start"
    script = textwrap.dedent(f"""
        import os, time
        from shared.export.saved_model import next_version
        while not os.path.exists({str(start)!r}):
            time.sleep(0.005)
        final, claim = next_version({str(tmp_path / "models")!r}, "m")
        print(final, flush=True)
        time.sleep(1)
        os.makedirs(final)
        os.remove(claim)
    """)
    children = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
    time.sleep(8)  # both have imported TensorFlow and wait on the start file
    start.touch()
    found = sorted(child.communicate(timeout=120)[0].strip() for child in children)
    assert found == [str(tmp_path / "models" / "m" / "1"), str(tmp_path / "models" / "m" / "2")]
    assert sorted(os.listdir(tmp_path / "models" / "m")) == ["1", "2"]


def test_export_name_must_be_a_plain_name(tmp_path, capsys):
    assert trident(["classification", "export", "--run", str(tmp_path), "--name", "../x"]) == 1
    err = capsys.readouterr().err
    assert "--name ../x is not a plain folder name: the export must stay inside --output-dir" in err
