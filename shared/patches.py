"""Every use of a private Keras or TensorFlow API, in one place.

Trident needs a few things the public APIs do not offer. Each is wrapped here, named for what
it gives, and tested in `tests/shared/test_patches.py` against the installed versions, so an
upgrade that moves one fails that test by name instead of a training run an hour in.
Python's argparse is here too for the one thing it keeps private: converting a value as a flag's
own type and choices would.
"""

import keras
import tensorflow as tf


def sublayers(model):
    """Every layer inside `model`, nested ones included, `model` itself left out (Keras' tracker;
    `model.layers` lists only the top level)."""
    return list(model._flatten_layers(include_self=False))


def graph_outputs(model):
    """The outputs of a model nested inside another functional model, as the outer graph sees them
    (the tensors of its latest call there), in the structure of `model.output`."""
    return keras.tree.pack_sequence_as(model.output, model._inbound_nodes[-1].output_tensors)


def in_multi_worker_mode(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` that spans several machines."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def argparse_values(parser, action, strings):
    """`strings` converted and checked as the flag of `action` converts and checks its command-line text
    (type, choices, nargs), raising `argparse.ArgumentError` with argparse's own message."""
    return parser._get_values(action, strings)


def tflite_ops(interpreter):
    """The operations of a loaded TFLite model: dicts with `op_name`, `inputs`, `outputs`."""
    return interpreter._get_ops_details()


class MultiWorkerFit:
    """Mixin for a `keras.Model`: `fit` and `evaluate` under `MultiWorkerMirroredStrategy`
    (keras-team/keras#20585), and under `MirroredStrategy` on an uneven last batch. Changes
    nothing without a strategy.

    Keras 3 builds the model from the replicas' batches averaged (which fails across machines
    and on a batch split unevenly) and reduces per-replica scalar logs along axis 0; this builds
    from the first local replica's batch and returns each step's logs as one-element vectors,
    which the axis-0 reduction averages into the same scalars one device reports. It overrides
    the trainer's private `_maybe_symbolic_build`."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or strategy is None:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        # Only shapes matter: the first local replica's batch stands for all.
        for _, _, batches in iterator:
            batch = next(batches)
            data_batch = tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], batch)
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def train_step(self, data):
        return self._vector_logs(super().train_step(data))

    def test_step(self, data):
        return self._vector_logs(super().test_step(data))

    def _vector_logs(self, logs):
        if not in_multi_worker_mode(self.distribute_strategy):
            return logs
        return {key: tf.reshape(value, [1]) if getattr(value, "shape", None) is not None and value.shape.rank == 0
                else value for key, value in logs.items()}
