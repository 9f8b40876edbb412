"""Training across devices and machines: strategies, the multi-worker mends, two real workers on
127.0.0.1, a killed worker, and `mirrored` over two logical CPUs for every task."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from shared.engine.callbacks import Clock, TimeBudget
from shared.engine.distribute import (Distribution, cluster_spec, free_ports, loopback_tf_config, make_distribution,
                                      per_replica_share, resolve_strategy, scaled_for_replicas, shard)
from shared.errors import TridentError
from tests.factories import tiny_train_args, write_class_folders
from tests.test_faults import assert_consistent

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def test_tf_config_names_the_chief_and_bad_ones_are_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_spec() is None
    assert make_distribution("auto").name == "one_device"  # no GPU, no cluster
    with pytest.raises(TridentError, match="needs TF_CONFIG"):
        make_distribution("multi_worker")
    monkeypatch.setenv("TF_CONFIG", loopback_tf_config([1, 2, 3], 2))
    assert cluster_spec() == (3, False, 2, "127.0.0.1:3")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1"]},
                                                "task": {"type": "chief", "index": 0}}))
    assert cluster_spec() == (2, True, 0, "a:1")
    monkeypatch.setenv("TF_CONFIG", loopback_tf_config([1, 2], 2))
    with pytest.raises(TridentError, match=r"task is worker 2, but its cluster lists 2 worker address\(es\) "
                                           r"\(indices 0 to 1\)"):
        cluster_spec()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(TridentError, match="TF_CONFIG is not a cluster description"):
        cluster_spec()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}))
    with pytest.raises(TridentError, match="chief and worker tasks only"):
        cluster_spec()


def test_a_port_in_use_is_named_before_tensorflow_listens(monkeypatch, tmp_path, capsys):
    import socket

    from tasks.cli import main as trident

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    monkeypatch.setenv("TF_CONFIG", loopback_tf_config([port, free_ports(1)[0]], 0))
    data = write_class_folders(tmp_path / "data", per_class=4)
    try:
        assert trident(["classification", "train", *tiny_train_args(data, tmp_path / "runs"),
                        "--strategy", "multi_worker"]) == 1
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert f"Port {port} of this machine's address 127.0.0.1:{port} in TF_CONFIG is in use" in err
    assert "Traceback" not in err


def test_auto_picks_the_cluster_then_several_gpus_then_one_device():
    assert resolve_strategy("auto", (2, True, 0, "a:1"), 0) == "multi_worker"
    assert resolve_strategy("auto", (1, True, 0, "a:1"), 4) == "mirrored"
    assert resolve_strategy("auto", None, 1) == "one_device"
    assert resolve_strategy("one_device", (2, True, 0, "a:1"), 8) == "one_device"


def test_with_several_workers_the_budget_follows_the_clock_they_agree_on():
    class Model:
        stop_training = False

    agreed = []
    clock = Clock(agree=lambda values: agreed.append(values) or [100.0])  # the chief's reading
    budget = TimeBudget(50.0, clock)
    budget.set_model(Model())
    clock.on_train_begin()
    budget.on_train_batch_end(0)
    assert not budget.hit and clock.read() == 0.0  # nothing agreed yet: no worker stops alone
    clock.on_train_batch_begin(1)
    budget.on_train_batch_end(1)
    assert budget.hit and budget.model.stop_training and len(agreed) == 1 and agreed[0][0] < 50.0


def test_a_defaulted_batch_grows_with_the_replicas_and_the_rate_by_its_square_root():
    config = {"batch_size": 16, "lr": 2e-3}
    reasons = scaled_for_replicas(config, set(), 4)
    assert config == {"batch_size": 64, "lr": pytest.approx(4e-3)} and set(reasons) == {"batch_size", "lr"}
    given = {"batch_size": 16, "lr": 2e-3}
    assert scaled_for_replicas(given, {"batch_size"}, 4) == {} and given == {"batch_size": 16, "lr": 2e-3}
    assert scaled_for_replicas(dict(config), set(), 1) == {}
    assert float(per_replica_share(np.float32(3.0))) == 3.0  # one replica: the loss as it is


def test_training_leaves_out_a_last_batch_smaller_than_the_replicas():
    import tensorflow as tf

    class Two(Distribution):
        replicas = 2

    two = Two(None, "mirrored")
    kept = shard(tf.data.Dataset.range(5).batch(2), two, images=5, batch=2)
    assert [list(b.numpy()) for b in kept] == [[0, 1], [2, 3]] and int(kept.cardinality()) == 2
    whole = shard(tf.data.Dataset.range(7).batch(3), two, images=7, batch=3)  # a last batch of 1 < 2 replicas
    assert int(whole.cardinality()) == 2
    even = shard(tf.data.Dataset.range(6).batch(4), two, images=6, batch=4)  # 2 left: one each
    assert [len(b) for b in even] == [4, 2]


def _worker(out, ports, index):
    """`tests.distributed_worker` as worker `index` of the loopback `ports`, or alone when `ports` is None."""
    where = [",".join(map(str, ports)), str(index)] if ports else []
    return subprocess.Popen([sys.executable, "-m", "tests.distributed_worker", str(out), *where], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_workers_train_in_step_and_match_one_process_on_the_same_global_batch(tmp_path):
    ports = free_ports(2)
    (tmp_path / "one").mkdir()
    processes = [_worker(tmp_path, ports, i) for i in range(2)] + [_worker(tmp_path / "one", None, 0)]
    for process in processes:  # the single process trains alongside the two workers
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-3000:]
    first, second = (np.load(tmp_path / f"worker-{i}.npz") for i in range(2))
    one = np.load(tmp_path / "one" / "worker-0.npz")
    weights = [key for key in first.files if key.startswith("arr_")]
    # Float sums in another order (two half-batch gradients all-reduced, thread pools under load) drift
    # apart step by step: losses about 4e-6 relative after the first epoch, 1.8e-4 after the third was
    # seen; a weight of 0.535 once ended 1.1e-4 (2.1e-4 relative) from the single process's, one of 0.0013
    # 1.03e-4 (with the other large tests running beside it). Adam's steps at this learning rate (3e-3) are
    # ten times the tolerance, so a wrongly split batch still shows.
    for key in weights:
        np.testing.assert_array_equal(first[key], second[key])  # in step: bit for bit the same
        np.testing.assert_allclose(first[key], one[key], rtol=1e-3, atol=3e-4)
    for key in ("loss", "val_loss"):  # each worker saw half of every global batch of 8
        np.testing.assert_allclose(first[key][0], one[key][0], rtol=1e-4)
        np.testing.assert_allclose(first[key], one[key], rtol=1e-3)


def _train_command(data, runs, epochs):
    return [sys.executable, "-m", "tasks.cli", "classification", "train",
            *tiny_train_args(data, runs, "--name", "r"), "--epochs", str(epochs), "--strategy", "multi_worker"]


def _start_workers(command, ports, scratch):
    return [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=dict(ENV, TF_CONFIG=loopback_tf_config(ports, i), TMPDIR=str(scratch[i])))
            for i in range(2)]


def test_only_the_chief_writes_and_after_a_killed_worker_the_same_command_finishes(tmp_path):
    data = write_class_folders(tmp_path / "data", per_class=6)
    runs, epochs = tmp_path / "runs", 10
    scratch = [tmp_path / "tmp0", tmp_path / "tmp1"]
    for folder in scratch:
        folder.mkdir()
    command = _train_command(data, runs, epochs)
    workers = _start_workers(command, free_ports(2), scratch)
    state = runs / "r" / "state.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and all(w.poll() is None for w in workers):
        if state.is_file() and json.loads(state.read_text()).get("epoch", 0) >= 2:
            break
        time.sleep(0.05)
    assert all(w.poll() is None for w in workers), "training ended before a worker could be killed"
    assert _worker_folders(scratch[1]), "the second worker keeps its records in a temporary folder"
    workers[1].send_signal(signal.SIGKILL)  # a machine lost: the chief stops with the project's error
    chief_output, _ = workers[0].communicate(timeout=120)
    workers[1].communicate(timeout=60)
    assert workers[0].returncode == 1 and "Lost contact with another worker" in chief_output, chief_output[-2000:]
    stopped_at = json.loads(state.read_text())["epoch"]
    assert 2 <= stopped_at < epochs

    killed = _worker_folders(scratch[1])  # a killed process cannot clean up; a finished one does
    again = _start_workers(command, free_ports(2), scratch)
    outputs = [w.communicate(timeout=300)[0] for w in again]
    assert [w.returncode for w in again] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert all(f"from epoch {stopped_at}" in output for output in outputs)
    assert "the chief writes the run" in outputs[1]
    assert_consistent(runs / "r", epochs)
    assert os.listdir(runs) == ["r"] and not _worker_folders(scratch[0])
    assert _worker_folders(scratch[1]) == killed


def _worker_folders(scratch):
    return [name for name in os.listdir(scratch) if name.startswith("trident-worker-")]


def test_mirrored_over_two_logical_cpus_trains_evaluates_and_exports_each_task_and_a_pretrained_backbone(tmp_path):
    # Classification from scratch runs the same MultiWorkerFit path in the two-worker tests above;
    # "pretrained" is classification fine-tuning ImageNet EfficientNet-Lite0 (frozen batch norm and stem).
    names = ("detection", "segmentation", "pretrained")
    done = subprocess.run([sys.executable, "-m", "tests.mirrored_tasks", str(tmp_path), *names],
                          cwd=ROOT, env=dict(ENV, TRIDENT_CACHE=str(tmp_path / "cache")), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("strategy: mirrored, 2 replicas on 1 machine(s)") == 3
    assert done.stdout.count("Validation: ") == 3  # each training's closing evaluation
    assert "batch_norm: frozen" in done.stdout and "freeze: P2" in done.stdout
    for task in names:
        for action in ("train", "export"):
            assert f"{task} {action}: exit 0" in done.stdout
