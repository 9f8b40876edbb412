"""Training callbacks: atomic checkpoints with resume state, NaN guard, time budget, LR schedule."""

import contextlib
import math
import signal
import threading
import time

import keras
import numpy as np


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: commit `last.keras`, `best.keras` on improvement, the log row and the state.

    With `keep="last"`, every finished epoch counts as an improvement, so `best.keras` is
    the last epoch. `Run.commit_epoch` writes them so that a kill or a failed write at any
    moment leaves the previous epoch's record or this one. A non-finite loss writes nothing.
    """

    def __init__(self, run, monitor, mode="max", keep="best"):
        super().__init__()
        self.run, self.monitor, self.mode, self.keep = run, monitor, mode, keep
        self.best = run.state().get("best")

    def _improved(self, value):
        if value is None or not math.isfinite(value):
            return self.keep == "last"
        if self.best is None or self.keep == "last":
            return True
        # Ties go to the later epoch: same score, lower learning rate, more settled weights.
        return value >= self.best if self.mode == "max" else value <= self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not math.isfinite(float(logs.get("loss", 0.0))):
            return
        value = logs.get(self.monitor)
        value = None if value is None else float(value)
        row = {k: float(v) for k, v in logs.items()}
        updates = {"monitor": self.monitor, "last_logs": row}
        improved = self._improved(value)
        if improved:
            updates.update(best=value, best_epoch=epoch + 1)
        self.run.commit_epoch(epoch + 1, self.model.save, row, improved, **updates)
        if improved:
            self.best = value


class PartialBackup(keras.callbacks.Callback):
    """Inside an epoch, commit a resumable backup (model and optimizer) every `seconds`.

    The backup records the epoch and how many of its batches are done, so a killed run
    resumes at the next batch (`Run.resume_point`) instead of at the epoch's start. The
    last batch of an epoch is left to `RunCheckpoint`. Weights that are no longer finite
    are not backed up. It works before each batch, so the batch-end hooks stay off the
    training thread (a batch-end hook here would make Keras wait for every step's logs).
    """

    def __init__(self, run, seconds, steps, first_batch=0):
        super().__init__()
        self.run, self.seconds, self.steps = run, seconds, steps
        self.offset, self.epoch, self.since = first_batch, 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.since = epoch, time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.offset = 0  # only the resumed epoch starts part-way

    def on_train_batch_begin(self, batch, logs=None):
        done = self.offset + batch  # batches of this epoch already trained
        if not self.seconds or done == 0 or done >= self.steps or time.monotonic() - self.since < self.seconds:
            return
        if not all(np.isfinite(w).all() for w in self.model.get_weights()):
            return
        self.run.commit_partial(self.epoch, done, self.model.save)
        self.since = time.monotonic()


class NanGuard(keras.callbacks.Callback):
    """Stop at the first non-finite loss and remember where, for a clear message."""

    # Batch-end hooks of callbacks marked async-safe run on a helper thread, so training
    # does not wait for each step's loss to reach Python (measured: about 8% faster).
    async_safe = True

    def __init__(self):
        super().__init__()
        self.epoch, self.where = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.where = (self.epoch + 1, batch + 1)
            self.model.stop_training = True


class CtrlC(keras.callbacks.Callback):
    """Ctrl-C stops training at the next batch boundary, raising `KeyboardInterrupt` there.

    Python raises `KeyboardInterrupt` wherever the main thread happens to be when the signal
    lands; inside a finalizer or a TensorFlow callback into Python it can be printed as "ignored"
    and lost, and training goes on (a test once saw a run finish after its Ctrl-C). While
    `armed()` holds, the handler only records the press; the raise comes from this callback's
    own hooks (all synchronous: before each batch, at each epoch's end) or right after `fit`
    returns. A second Ctrl-C raises at once.
    """

    def __init__(self):
        super().__init__()
        self.pressed = False

    def _press(self, signum, frame):
        self.pressed = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def check(self):
        if self.pressed:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def armed(self):
        """The handler on SIGINT for a `with` block, the previous one back after (off the main
        thread, where Python cannot set handlers, nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._press)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def on_train_batch_begin(self, batch, logs=None):
        self.check()

    def on_test_batch_begin(self, batch, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()


class Clock(keras.callbacks.Callback):
    """Seconds since training began, for the time budget and the schedule.

    With `agree` (`Distribution.agree`, multi-worker training) the reading is taken once
    before each batch and is the chief's on every worker, so all workers set the same
    learning rate and stop at the same step. Put it first among the callbacks.
    """

    def __init__(self, agree=None):
        super().__init__()
        self.agree, self.start, self.elapsed = agree, None, 0.0

    def on_train_begin(self, logs=None):
        if self.start is None:  # a resumed run fits twice: the rest of an epoch, then the others
            self.start = time.monotonic()

    def on_train_batch_begin(self, batch, logs=None):
        if self.agree is not None:
            self.elapsed = self.agree([time.monotonic() - self.start])[0]

    def read(self):
        if self.agree is not None or self.start is None:
            return self.elapsed
        return time.monotonic() - self.start


class TimeBudget(keras.callbacks.Callback):
    """Stop training once `seconds` on `clock` (a `Clock` among the callbacks; default: its
    own) have passed, checked every batch."""

    def __init__(self, seconds, clock=None):
        super().__init__()
        self.seconds, self.own, self.clock, self.hit = seconds, clock is None, clock or Clock(), False
        self.async_safe = self.clock.agree is None

    def on_train_begin(self, logs=None):
        if self.own:
            self.clock.on_train_begin(logs)

    def on_train_batch_end(self, batch, logs=None):
        if self.seconds and self.clock.read() > self.seconds:
            self.hit = True
            self.model.stop_training = True


class WarmupCosine(keras.callbacks.Callback):
    """Linear warm-up to `peak` over `warmup_epochs`, then cosine decay to 1% by the end.

    The end is `epochs`, or the time budget when that comes first: with `time_budget`
    the decay follows whichever of epochs and seconds is further along, so a run cut
    by its budget still ends on a low learning rate. Set per batch from the epoch and
    step, so a resumed or extended run follows the schedule of its current length.
    """

    def __init__(self, peak, epochs, steps_per_epoch, warmup_epochs=1.0, time_budget=None, first_batch=0, clock=None):
        super().__init__()
        self.peak, self.epochs, self.steps = peak, epochs, max(1, steps_per_epoch)
        self.warmup, self.epoch, self.time_budget = warmup_epochs, 0, time_budget
        self.own, self.clock = clock is None, clock or Clock()
        self.offset = first_batch  # batches of the first epoch done before a resume

    # The epoch the warm-up starts at: 0, or where a new optimizer takes over (`fit`'s head-first phase); and
    # what the rates are multiplied by from there (`--fine-tune-lr` over `--lr` once the whole network trains).
    warm_from, scale = 0, 1.0

    def rate(self, epoch_float, elapsed=0.0):
        return self.scale * self._rate(epoch_float, elapsed)

    def _rate(self, epoch_float, elapsed):
        since = epoch_float - self.warm_from
        if self.warm_from == 0 and since < self.warmup:
            return self.peak * (since + 1.0 / self.steps) / self.warmup
        progress = max(0.0, (epoch_float - self.warmup) / max(1e-9, self.epochs - self.warmup))
        if self.time_budget:
            progress = max(progress, elapsed / self.time_budget)
        cosine = self.peak * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))
        if since < self.warmup:  # warming up again: never above where the cosine has come down to
            return min(cosine, self.peak * (since + 1.0 / self.steps) / self.warmup)
        return cosine

    def on_train_begin(self, logs=None):
        if self.own:
            self.clock.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        elapsed = self.clock.read()
        self.model.optimizer.learning_rate.assign(self.rate(self.epoch + (self.offset + batch) / self.steps, elapsed))

    def on_epoch_end(self, epoch, logs=None):
        self.offset = 0
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())


class Throughput(keras.callbacks.Callback):
    """Training images per second, first batch to last batch of each epoch (no validation).

    An epoch cut short (time budget, NaN) counts only the share of its batches that ran.
    The first epoch of each `fit` call traces its step (the head-first phase and the whole network's
    each trace their own) and is left out when there are other epochs to count.
    """

    async_safe = True

    def __init__(self, images_per_epoch):
        super().__init__()
        self.images, self.epoch_seconds, self.epoch_images = images_per_epoch, [], []
        self._start, self._last, self._batches = None, None, 0
        self._traced = set()  # indices of the epochs that began a `fit` call

    def on_train_begin(self, logs=None):
        self._traced.add(len(self.epoch_seconds))

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last, self._batches = time.perf_counter(), batch + 1

    def on_epoch_end(self, epoch, logs=None):
        if self._start is not None and self._last is not None:
            steps = (self.params or {}).get("steps") or self._batches
            self.epoch_seconds.append(self._last - self._start)
            self.epoch_images.append(self.images * min(1.0, self._batches / steps))

    def images_per_second(self):
        kept = [i for i in range(len(self.epoch_seconds)) if i not in self._traced] or range(len(self.epoch_seconds))
        seconds, images = sum(self.epoch_seconds[i] for i in kept), sum(self.epoch_images[i] for i in kept)
        return images / seconds if seconds > 0 else None


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """TensorBoard logs written at epoch ends only, with no per-batch work.

    Keras' TensorBoard passes every batch's logs to `tf.summary.scalar` even when it writes
    only per epoch (the calls find no writer and do nothing); with it, LeNet-5 at 32 px trained
    at about 0.9 of bare `fit` in one (noisy) comparison, and at 1.04 without it
    (`bench/throughput.py --pairs 5`).
    """

    async_safe = True

    def __init__(self, log_dir):
        super().__init__(log_dir, write_graph=False, update_freq="epoch", profile_batch=0)

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class AveragedWeights(keras.callbacks.SwapEMAWeights):
    """Keras' EMA swap, also when training stops early (time budget, early stopping).

    At each epoch's end the averaged weights go into the model (validation, checkpoints
    and the final model use them). Keras settles the average for good only after the
    last planned epoch; a stop before it would leave `fit` to put the raw weights back.

    Each `fit` call starts from the weights the model holds (the previous call ended with the average
    written into them): Keras' swap would otherwise carry its "averages are in the model" mark into the
    next call and, at its first epoch, swap in that call's optimizer's averages, which a new optimizer
    (the head-first phase's successor) holds as zeros until its first step.
    """

    def __init__(self):
        super().__init__(swap_on_epoch=True)

    def on_train_begin(self, logs=None):
        self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.model.stop_training and epoch < self.params["epochs"] - 1:
            self._finalize_ema_values()
