import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.errors import TridentError
from shared.engine.runs import prepare_run
from shared.engine.training import fit
from shared.settings import TRAINING, config_type


def tiny_model():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def dataset(x, y):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2)


def config(epochs, **changes):
    """The typed settings of a `train` run (`shared.settings.TRAINING`)."""
    return config_type(TRAINING)(**{"epochs": epochs, "data": "x", "backbone": "b", "seed": 0, **changes})


def test_nan_loss_stops_with_a_message_and_writes_no_checkpoint(tmp_path):
    run, _ = prepare_run(tmp_path, "nan", config(3))
    x = np.ones((4, 4), np.float32)
    x[2, 0] = np.nan
    with pytest.raises(TridentError, match="NaN or infinite at epoch 1, batch 2"):
        fit(tiny_model(), dataset(x, np.zeros(4, np.int32)), None, run, epochs=3, monitor="accuracy")
    assert not os.path.exists(run.last_checkpoint)
    assert run.state()["ended"] == "nan"


def test_time_budget_stops_training(tmp_path):
    run, _ = prepare_run(tmp_path, "budget", config(50))
    x, y = np.zeros((8, 4), np.float32), np.zeros(8, np.int32)
    summary = fit(tiny_model(), dataset(x, y), None, run, epochs=50, monitor="accuracy", time_budget=1e-6)
    assert summary["ended"] == "time budget"
    assert summary["epochs_done"] == 1
    assert os.path.isfile(run.last_checkpoint)


def test_ctrl_c_from_any_thread_stops_at_the_next_batch_and_keeps_the_finished_epoch(tmp_path):
    """The signal is sent from a tf.data thread as epoch 2 reads its first row; fit stops with
    `KeyboardInterrupt` before any further epoch is committed, and SIGINT's handler is put back."""
    run, _ = prepare_run(tmp_path, "ctrl-c", config(5))
    x, y = np.zeros((8, 4), np.float32), np.zeros(8, np.int32)
    rows = []

    def count(row):
        rows.append(1)
        if len(rows) == 9:  # epoch 2's first row
            signal.raise_signal(signal.SIGINT)
        return row

    data = tf.data.Dataset.from_tensor_slices(x).map(
        lambda row: tf.numpy_function(count, [row], tf.float32, stateful=True))
    data = tf.data.Dataset.zip(data.map(lambda row: tf.ensure_shape(row, (4,))),
                               tf.data.Dataset.from_tensor_slices(y)).batch(2)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_model(), data, None, run, epochs=5, monitor="accuracy")
    assert signal.getsignal(signal.SIGINT) is before
    assert run.state()["epoch"] == 1 and os.path.isfile(run.last_checkpoint)
    assert len(rows) < 5 * 8


def test_checkpoints_state_and_logs(tmp_path):
    run, status = prepare_run(tmp_path, "ok", config(2))
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    summary = fit(tiny_model(), dataset(x, y), dataset(x, y), run, epochs=2, monitor="val_accuracy",
                  train_images=8)
    assert status == "new" and summary["ended"] == "completed"
    state = run.state()
    assert state["epoch"] == 2 and state["best_epoch"] in (1, 2)
    assert os.path.isfile(run.best_checkpoint) and os.path.isfile(run.file("log.csv"))
    assert len(open(run.file("log.csv")).read().strip().splitlines()) == 3  # header + 2 epochs
    assert summary["train_images_per_second"] > 0


def test_prepare_run_resume_rules(tmp_path):
    run, status = prepare_run(tmp_path, "r", config(2))
    assert status == "new"
    open(run.last_checkpoint, "w").close()
    run.write_state(epoch=1)
    assert prepare_run(tmp_path, "r", config(2))[1] == "resume"
    run.write_state(epoch=2)
    assert prepare_run(tmp_path, "r", config(2))[1] == "complete"
    assert prepare_run(tmp_path, "r", config(4))[1] == "resume"  # epochs may be raised
    changed = config(4, backbone="other")
    with pytest.raises(TridentError, match="different settings .*backbone"):
        prepare_run(tmp_path, "r", changed)
    assert prepare_run(tmp_path, "r", changed, restart=True)[1] == "new"


@pytest.mark.parametrize("keep, chosen", [("best", 1), ("last", 2)])
def test_best_checkpoint_is_the_best_epoch_or_the_last(tmp_path, keep, chosen):
    from shared.engine.callbacks import RunCheckpoint

    run, _ = prepare_run(tmp_path, keep, config(2))
    callback = RunCheckpoint(run, "val_loss", "min", keep)
    callback.set_model(tiny_model())
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 0.5})
    callback.on_epoch_end(1, {"loss": 0.9, "val_loss": 0.7})
    assert run.state()["best_epoch"] == chosen and os.path.isfile(run.best_checkpoint)


def test_prepare_run_never_writes_into_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(TridentError, match="not a Trident run folder"):
        prepare_run(tmp_path, "mine", config(1), restart=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    # A folder holding the user's own config.yaml is not taken for a run: not resumed,
    # not overwritten, not deleted by --restart.
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "config.yaml").write_text("mine: true\n")
    for restart in (False, True):
        with pytest.raises(TridentError, match="no .trident-run marker"):
            prepare_run(tmp_path, "project", config(1), restart=restart)
    assert (tmp_path / "project" / "config.yaml").read_text() == "mine: true\n"
    # A run Trident made carries the marker and restarts.
    run, _ = prepare_run(tmp_path, "made", config(1))
    assert os.path.isfile(run.file(".trident-run"))
    assert prepare_run(tmp_path, "made", config(1), restart=True)[1] == "new"


def test_schedule_warms_up_then_decays_by_epochs_or_budget():
    from shared.engine.callbacks import WarmupCosine

    schedule = WarmupCosine(1.0, epochs=11, steps_per_epoch=10, warmup_epochs=1.0)
    assert schedule.rate(0.0) == pytest.approx(0.1)  # first warm-up step
    assert schedule.rate(1.0) == pytest.approx(1.0)
    assert schedule.rate(6.0) == pytest.approx(0.505)  # half way down the cosine
    assert schedule.rate(11.0) == pytest.approx(0.01)
    budgeted = WarmupCosine(1.0, epochs=1000, steps_per_epoch=10, warmup_epochs=1.0, time_budget=100.0)
    assert budgeted.rate(2.0, elapsed=50.0) == pytest.approx(0.505)  # time is further along than epochs
    assert budgeted.rate(2.0, elapsed=100.0) == pytest.approx(0.01)


def test_schedule_warms_up_again_where_a_new_optimizer_takes_over():
    from shared.engine.callbacks import WarmupCosine

    schedule = WarmupCosine(1.0, epochs=11, steps_per_epoch=10, warmup_epochs=1.0)
    schedule.warm_from = 3
    assert schedule.rate(3.0) == pytest.approx(0.1)  # the first step of the second warm-up
    assert schedule.rate(6.0) == pytest.approx(0.505)  # then the cosine, where the epochs have brought it
    late = WarmupCosine(1.0, epochs=11, steps_per_epoch=10, warmup_epochs=1.0)
    late.warm_from = 9
    assert late.rate(9.9) == pytest.approx(late.rate(9.9, 0.0))
    assert late.rate(9.9) < 0.1  # never above the cosine's low end of the run


def _tiny_classifier():
    from shared.backbones import build_backbone
    from tasks.classification.model import build_classifier

    model = build_classifier(build_backbone("compact", frozen_bn=True), 2, 32, ["a", "b"])
    model.compile()
    return model


def _weights(layer):
    return [w.numpy().copy() for w in layer.trainable_weights or layer.weights]


def test_head_first_phase_trains_the_head_alone_then_everything_after_a_resume(tmp_path):
    """Epoch 1 of 3 with `head_epochs=2`: only the head moves, and the checkpoint reloads frozen whole with its
    optimizer state (no variable skipped); resumed, the head phase ends and the backbone learns with the
    freezing it was built with (its batch norm stays frozen)."""
    import warnings

    from shared.task_model import load_checkpoint

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32)
    y = np.array([0, 1] * 4, np.int32)
    run, _ = prepare_run(tmp_path, "head", config(3))
    model = _tiny_classifier()
    backbone_before = [w.numpy().copy() for w in model.backbone.weights]
    head_before = _weights(model.get_layer("probabilities"))
    fit(model, dataset(x, y), None, run, epochs=1, monitor="accuracy", lr=0.05, warmup_epochs=0.0, head_epochs=2)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(backbone_before, model.backbone.weights))
    assert not all(np.array_equal(a, b) for a, b in zip(head_before, _weights(model.get_layer("probabilities"))))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = load_checkpoint(run.last_checkpoint)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert not resumed.backbone.trainable_variables and resumed.trainable_variables

    fit(resumed, dataset(x, y), None, run, epochs=3, monitor="accuracy", lr=0.05, warmup_epochs=0.0,
        initial_epoch=1, head_epochs=2)
    assert resumed.backbone.trainable and resumed.backbone.trainable_variables
    assert not any(layer.trainable for layer in resumed.backbone.layers
                   if isinstance(layer, keras.layers.BatchNormalization))
    changed = [not np.array_equal(a, b.numpy()) for a, b in zip(backbone_before, resumed.backbone.weights)]
    assert any(changed)
    final = load_checkpoint(run.last_checkpoint)
    assert final.backbone.trainable and len(final.trainable_variables) == len(resumed.trainable_variables)


def test_the_whole_network_fine_tunes_at_its_own_rate_after_the_head_phase(tmp_path):
    """`fine_tune_lr`: the head phase runs at `lr`, the phase after it at the schedule scaled to its own peak."""
    import csv

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32), np.array([0, 1] * 4, np.int32)
    run, _ = prepare_run(tmp_path, "rates", config(4))
    fit(_tiny_classifier(), dataset(x, y), None, run, epochs=4, monitor="accuracy", lr=0.05, warmup_epochs=0.0,
        head_epochs=1, fine_tune_lr=0.001)
    with open(run.file("log.csv")) as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert rates[0] > 0.01 and max(rates[1:]) <= 0.001 + 1e-9 and rates[1] > 0.0001


def test_a_chosen_fine_tune_rate_sees_the_head_phase_and_a_resumed_run_keeps_it(tmp_path):
    """A callable `fine_tune_lr` is asked once, when the whole network joins, with the last head-first epoch's
    logs (here read back from the run: the head phase ended the first call); its rate and reason are recorded,
    returned, and kept by a resume inside the phase, which asks nothing."""
    import csv

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32), np.array([0, 1] * 4, np.int32)
    run, _ = prepare_run(tmp_path, "chosen", config(3))
    asked = []

    def choose(logs):
        asked.append(logs)
        return 0.0005, "the head fits"

    model = _tiny_classifier()
    fit(model, dataset(x, y), dataset(x, y), run, epochs=1, monitor="val_accuracy", lr=0.05, warmup_epochs=0.0,
        head_epochs=1, fine_tune_lr=choose)
    assert not asked and "fine_tune_lr" not in run.state()
    summary = fit(model, dataset(x, y), dataset(x, y), run, epochs=3, monitor="val_accuracy", lr=0.05,
                  warmup_epochs=0.0, initial_epoch=1, head_epochs=1, fine_tune_lr=choose)
    with open(run.file("log.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(asked) == 1 and asked[0]["val_accuracy"] == pytest.approx(float(rows[0]["val_accuracy"]))
    assert asked[0]["learning_rate"] == pytest.approx(float(rows[0]["learning_rate"]))  # the head's epoch
    assert summary["fine_tune_lr"] == {"value": 0.0005, "reason": "the head fits"} == run.state()["fine_tune_lr"]

    def refuse(logs):
        raise AssertionError("asked again after the choice was recorded")

    fit(model, dataset(x, y), dataset(x, y), run, epochs=5, monitor="val_accuracy", lr=0.05, warmup_epochs=0.0,
        initial_epoch=3, head_epochs=1, fine_tune_lr=refuse)
    with open(run.file("log.csv")) as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert len(rates) == 5 and rates[0] > 0.005 and max(rates[1:]) <= 0.0005 + 1e-9


def test_throughput_leaves_out_each_fits_tracing_epoch_and_counts_the_batches_a_cut_epoch_ran(monkeypatch):
    import itertools

    from shared.engine import callbacks

    clock = itertools.count()  # one second per reading: batch 0's start, then each batch's end
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: float(next(clock)))
    meter = callbacks.Throughput(images_per_epoch=100)
    meter.set_params({"steps": 10})
    # two `fit` calls (a head-first phase, then the whole network), each tracing in its first epoch (10 s more);
    # the last epoch stops after half its batches
    for epoch, batches in enumerate([10, 10, 10, 5]):
        if epoch in (0, 2):
            meter.on_train_begin()
        for batch in range(batches):
            meter.on_train_batch_begin(batch)
            if epoch in (0, 2) and batch == 0:
                for _ in range(10):
                    next(clock)
            meter.on_train_batch_end(batch)
        meter.on_epoch_end(epoch)
    assert meter.epoch_images == [100, 100, 100, 50]
    assert meter.epoch_seconds == [20, 10, 20, 5]
    assert meter.images_per_second() == pytest.approx(150 / 15)  # each call's first epoch (tracing) left out
    alone = callbacks.Throughput(images_per_epoch=100)
    alone.set_params({"steps": 10})
    alone.on_train_begin()
    alone.on_train_batch_begin(0)
    alone.on_train_batch_end(0)
    alone.on_epoch_end(0)
    assert alone.images_per_second() == pytest.approx(10 / 1)  # one epoch only: counted all the same


@pytest.mark.parametrize("epochs, budget", [(3, None), (50, 1e-3)])  # all epochs; stopped by the clock
def test_weight_average_is_what_validation_checkpoints_and_the_final_model_hold(tmp_path, epochs, budget):
    from shared.engine.training import build_optimizer

    run, _ = prepare_run(tmp_path, "ema", config(epochs))
    model = tiny_model()
    model.compile(optimizer=build_optimizer({"lr": 0.05, "weight_decay": 0.0, "ema": 0.5}),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 2, 16).astype(np.int32)
    fit(model, dataset(x, y), dataset(x, y), run, epochs=epochs, monitor="val_accuracy", time_budget=budget)
    average = [v.numpy() for v in model.optimizer._model_variables_moving_average]
    for weight, averaged in zip(model.trainable_weights, average):
        np.testing.assert_allclose(weight.numpy(), averaged, atol=1e-6)  # the final model is the average
    saved = keras.models.load_model(run.last_checkpoint)
    for weight, kept in zip(model.trainable_weights, saved.trainable_weights):
        np.testing.assert_allclose(weight.numpy(), kept.numpy(), atol=1e-6)
    assert not build_optimizer({"lr": 0.05, "weight_decay": 0.0}).use_ema


def test_epoch_tensorboard_writes_each_epochs_logs_and_nothing_per_batch(tmp_path):
    import glob

    from shared.engine.callbacks import EpochTensorBoard

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=2, epochs=2, verbose=0,
              callbacks=[EpochTensorBoard(str(tmp_path))])
    tags = {}
    for path in glob.glob(str(tmp_path / "train" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, set()).add(event.step)
    assert tags["epoch_loss"] == {0, 1}
    assert not [tag for tag in tags if tag.startswith("batch_")]


def test_weight_average_carries_over_into_the_phase_after_the_head_first_one(tmp_path):
    """With `--ema`, the whole-network phase starts from the head phase's averaged weights, not from its new
    optimizer's averages, which are empty until its first step (Keras' swap kept its state across `fit` calls
    and put those zeros into every weight: weather4 fell to chance)."""
    from shared.engine.training import build_optimizer

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32), np.array([0, 1] * 4, np.int32)
    run, _ = prepare_run(tmp_path, "ema-phases", config(3))
    model = _tiny_classifier()
    model.compile(optimizer=build_optimizer({"lr": 0.05, "weight_decay": 0.0, "ema": 0.5}),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = [w.numpy().copy() for w in model.backbone.trainable_weights]
    fit(model, dataset(x, y), dataset(x, y), run, epochs=3, monitor="val_accuracy", lr=0.05, warmup_epochs=0.0,
        head_epochs=1, fine_tune_lr=1e-5)
    after = [w.numpy() for w in model.backbone.trainable_weights]
    assert len(before) == len(after) > 0
    # 8 steps at 1e-5 move a weight by about 1e-4 at most; zeroed ones moved by their whole size
    assert max(float(np.abs(a - b).max()) for a, b in zip(after, before)) < 1e-3
    assert float(np.std(model.predict(x, verbose=0)[:, 0])) > 0.0
    average = [v.numpy() for v in model.optimizer._model_variables_moving_average]
    for weight, averaged in zip(model.trainable_weights, average):
        np.testing.assert_allclose(weight.numpy(), averaged, atol=1e-6)


def test_early_stopping_in_the_head_first_phase_ends_the_phase_not_the_run(tmp_path):
    """The head stops improving at its second epoch of three (its rate is too small to move it); the whole
    network still trains after it, and the run ends as completed."""
    import csv

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32), np.array([0, 1] * 4, np.int32)
    run, _ = prepare_run(tmp_path, "early-head", config(4))
    model = _tiny_classifier()
    before = [w.numpy().copy() for w in model.backbone.trainable_weights]
    summary = fit(model, dataset(x, y), dataset(x[:1], y[:1]), run, epochs=4, monitor="val_accuracy", lr=1e-9,
                  warmup_epochs=0.0, head_epochs=3, fine_tune_lr=0.05, early_stopping=1)
    with open(run.file("log.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3  # two head epochs, then the whole network's one
    assert summary["ended"] == "completed"
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(before, model.backbone.trainable_weights))
