"""The fit wrapper every task's `train` uses: seeds, callbacks, run folder, resume."""

import contextlib
import time

import keras
import tensorflow as tf

from shared.engine.callbacks import (AveragedWeights, Clock, CtrlC, EpochTensorBoard, NanGuard, PartialBackup,
                                     RunCheckpoint, Throughput, TimeBudget, WarmupCosine)
from shared.errors import fail
from shared.io import atomic_path


def set_seed(seed, deterministic=False):
    """Seed Python, NumPy and TensorFlow; optionally make TensorFlow ops deterministic.

    With a seed alone, the data split, initial weights, shuffle order and augmentation
    repeat exactly; multi-threaded float reductions may still differ in the last bits
    between runs. `deterministic=True` removes that too, at some cost in speed.
    """
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def build_optimizer(config):
    """AdamW at the config's learning rate and weight decay, averaging the weights when `ema` > 0.

    With `ema` (the average's momentum, e.g. 0.99), validation, checkpoints and the
    final model use the exponential moving average of the weights (Keras keeps it in
    the optimizer; `fit` swaps it in at each epoch's end).
    """
    ema = config.get("ema") or 0.0
    return keras.optimizers.AdamW(config["lr"], weight_decay=config["weight_decay"], use_ema=ema > 0,
                                  ema_momentum=ema if ema > 0 else 0.99)


def fit(model, train_ds, val_ds, run, *, epochs, monitor, mode="max", lr=1e-3, warmup_epochs=1.0,
        initial_epoch=0, train_images=None, steps_per_epoch=None, time_budget=None, early_stopping=0, verbose=1,
        keep="best", first_batch=0, backup_every=None, distribution=None, head_epochs=0, fine_tune_lr=None):
    """Train `model` with Trident's callbacks, writing checkpoints and logs into `run`.

    Args:
        model: compiled `keras.Model`.
        train_ds, val_ds: `tf.data.Dataset`s of `(inputs, targets)` batches.
        run: `shared.engine.runs.Run`.
        epochs: int, total epochs (training continues from `initial_epoch`).
        monitor: str, the logged value picking `best.keras`, e.g. `"val_accuracy"`.
        mode: str, `"max"` or `"min"` for `monitor`.
        keep: `"best"` (`best.keras` is the epoch with the best `monitor`) or `"last"` (it
            is the last finished epoch: the schedule's settled end).
        lr: float, peak learning rate of the warm-up + cosine schedule.
        time_budget: float seconds or None; training stops when it runs out.
        early_stopping: int, patience in epochs; 0 turns it off.
        steps_per_epoch: int, batches per epoch for the schedule, when the dataset
            cannot tell its length.
        first_batch: batches of epoch `initial_epoch` done before a resume from a backup
            inside it: that epoch trains only its remaining batches, the schedule and the
            optimizer continuing where they were.
        backup_every: float seconds between backups inside an epoch (`PartialBackup`), or None.
        distribution: the `shared.engine.distribute.Distribution` the model was built under; with
            several workers, the time budget and schedule follow the chief's clock.
        head_epochs: int, epochs at the start during which the backbone is frozen whole and only the
            task's head learns (a fine-tune's head-first phase); then the backbone joins with a new
            optimizer (its moments start from nothing) and the learning rate warms up again. 0: none.
        fine_tune_lr: the peak rate once the whole network trains after the head-first phase (the schedule
            scaled by `fine_tune_lr / lr`): a float; None: `lr`; or a callable `choose(logs) -> (rate, reason)`
            given the last head-first epoch's logs when the whole network joins (`_whole_network_rate`).

    Returns:
        dict summary: epochs done, how training ended, seconds, images/s, and the whole network's peak rate
        with its reason where a callable `fine_tune_lr` chose it (`{"value", "reason"}`).

    Raises:
        TridentError: the loss became NaN or infinite (the last good checkpoint stays).
    """
    steps = int(train_ds.cardinality())
    if steps < 1:
        steps = steps_per_epoch or 1
    # Only a time budget makes the steps depend on the clock; then every worker reads the chief's.
    shared_clock = time_budget and distribution is not None and distribution.multi_worker
    clock = Clock(distribution.agree if shared_clock else None)
    nan_guard, budget = NanGuard(), TimeBudget(time_budget, clock)
    throughput = Throughput(train_images or 0)
    tensorboard = EpochTensorBoard(run.file("tensorboard"))
    # Averaged weights in place before anything reads them at an epoch's end.
    averaging = [AveragedWeights()] if getattr(model.optimizer, "use_ema", False) else []
    schedule = WarmupCosine(lr, epochs, steps, warmup_epochs, time_budget, first_batch, clock)
    callbacks = [
        clock,
        schedule,
        PartialBackup(run, backup_every, steps, first_batch),
        nan_guard,
        budget,
        throughput,
        *averaging,
        RunCheckpoint(run, monitor, mode, keep),
        tensorboard,
    ]
    stopper = None
    if early_stopping:
        stopper = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=early_stopping)
        callbacks.append(stopper)
    ctrl_c = CtrlC()  # last: a press during an epoch's end stops after its checkpoint is written
    callbacks.append(ctrl_c)

    start = time.monotonic()
    with ctrl_c.armed():
        for begin, end, head_only in _phases(head_epochs, epochs):
            if initial_epoch >= end or model.stop_training:
                continue
            if head_epochs:
                _enter_phase(model, head_only, initial_epoch == begin and not first_batch, distribution)
                schedule.warm_from = begin
                rate = None if head_only else _whole_network_rate(fine_tune_lr, run, initial_epoch == begin,
                                                                  distribution)
                schedule.scale = rate / lr if rate else 1.0
            if first_batch:  # the rest of the epoch a backup stopped in, then the others
                model.fit(train_ds.take(steps - first_batch), validation_data=val_ds, epochs=initial_epoch + 1,
                          initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)
                initial_epoch, first_batch = initial_epoch + 1, 0
            if initial_epoch < end and not model.stop_training:
                model.fit(train_ds, validation_data=val_ds, epochs=end, initial_epoch=initial_epoch,
                          callbacks=callbacks, verbose=verbose, shuffle=False)
                initial_epoch = end
            if head_only and _stopped_early(model, stopper, budget, nan_guard):
                print(f"The head alone stopped improving ({monitor}); the whole network trains from here.")
                model.stop_training = False
        ctrl_c.check()
    seconds = time.monotonic() - start

    state = run.state()
    if nan_guard.where:
        epoch, batch = nan_guard.where
        run.write_state(ended="nan", nan_at={"epoch": epoch, "batch": batch})
        fail(f"Training stopped: the loss became NaN or infinite at epoch {epoch}, batch {batch}. "
             f"The last good checkpoint ({state.get('epoch', 0)} finished epochs) is kept in {run.path}",
             "Lower --lr, check the labels and images for broken values, then re-run the same "
             "command to resume from that checkpoint (or add --restart)", lr=lr)
    if budget.hit:
        ended = "time budget"
    elif stopper is not None and stopper.stopped_epoch > 0:
        ended = "early stopping"
    else:
        ended = "completed"
    summary = {
        "ended": ended,
        "epochs_done": state.get("epoch", 0),
        "train_seconds": round(seconds, 2),
        "train_images_per_second": throughput.images_per_second(),
    }
    run.write_state(**summary)
    if state.get("fine_tune_lr"):
        summary["fine_tune_lr"] = state["fine_tune_lr"]
    return summary


def _whole_network_rate(choice, run, starting, distribution=None):
    """The peak rate of the whole-network phase. A callable `choice` is asked once, as the phase is `starting`,
    with the last head-first epoch's logs (the run's record of its last finished epoch), and its answer is
    recorded in the run's state, so a run resumed inside the phase keeps it (one resumed there with no record
    began before such a choice existed: None, the full rate); with several workers the chief's answer holds."""
    if not callable(choice):
        return choice
    state = run.state()
    recorded = state.get("fine_tune_lr")
    if recorded:
        rate, reason = recorded["value"], None
    elif starting:
        rate, reason = choice(state.get("last_logs") or {})
    else:
        rate, reason = 0.0, None
    if distribution is not None and distribution.multi_worker:  # every worker takes part, resumed or not
        rate = distribution.agree([rate])[0]
    if reason:
        run.write_state(fine_tune_lr={"value": rate, "reason": reason})
        print(f"fine_tune_lr: {rate:g} ({reason})")
    return float(rate) or None


def _stopped_early(model, stopper, budget, nan_guard):
    """Whether early stopping alone (not the clock, not a broken loss) stopped the last `fit`: in the head-first
    phase that ends the phase, not the run, which would otherwise end without the whole network ever training."""
    return bool(model.stop_training and stopper is not None and stopper.stopped_epoch > 0 and not budget.hit
                and not nan_guard.where)


def _phases(head_epochs, epochs):
    """`[(first epoch, end epoch, head only)]`: the head-first phase (when there is one), then the whole network."""
    head = min(int(head_epochs or 0), epochs)
    return ([(0, head, True)] if head else []) + [(head, epochs, False)]


def _enter_phase(model, head_only, fresh, distribution=None):
    """Freeze the backbone whole for the head-first phase, or as configured for the rest. A phase that starts
    here (`fresh`) gets a new optimizer built for the weights it trains; a phase resumed from its own
    checkpoint keeps the optimizer state the checkpoint holds."""
    model.backbone.freeze_whole(head_only)
    if fresh:
        with distribution.scope() if distribution is not None else contextlib.nullcontext():
            model.compile_from_config(model.get_compile_config())


def save_backbone(backbone, path):
    """Write a backbone's weights alone (atomically), loadable into any task's backbone."""
    with atomic_path(path, suffix=".weights.h5") as tmp:
        backbone.save_weights(tmp)
    return path

