"""`--deterministic` makes two runs bit-identical (checked in a child process: op determinism,
once on, cannot be switched off, and must not leak into the other tests)."""

import pytest
import subprocess
import sys
import textwrap

from tests.factories import write_class_folders

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`


def test_two_deterministic_runs_give_identical_weights(tmp_path):
    data = write_class_folders(tmp_path / "data")
    script = textwrap.dedent(f"""
        import numpy as np, keras
        from shared.actions import train
        from tasks.classification.task import TASK
        from shared.io import read_json
        weights, splits = [], []
        for name in ("a", "b"):
            run = train.main(TASK, ["--data", {str(data)!r}, "--backbone", "compact", "--image-size", "16",
                              "--batch-size", "2", "--epochs", "2", "--runs-dir", {str(tmp_path / "runs")!r},
                              "--name", name, "--verbose", "0", "--deterministic", "--seed", "7"])
            weights.append(keras.models.load_model(run.last_checkpoint).get_weights())
            splits.append(read_json(run.file("data.json"))["fingerprint"])
        assert splits[0] == splits[1]
        assert all(np.array_equal(x, y) for x, y in zip(*weights)), "weights differ"
        print("identical")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=".")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "identical" in out.stdout
