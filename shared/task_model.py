"""`TaskModel`: what every task's `keras.Model` shares (a backbone, its config, resumable compile)."""

import os
import zipfile

import keras

from shared import backbones as _backbones  # noqa: F401  (registers backbone classes for loading)
from shared.patches import MultiWorkerFit
from shared.errors import fail


def load_checkpoint(path):
    """A compiled model, with its optimizer state, from a `.keras` checkpoint (safe mode)."""
    try:
        return keras.models.load_model(path)
    except Exception as error:
        _refuse(path, error)


def _refuse(path, error):
    fail(f"Checkpoint {path} cannot be loaded: {_what_is_wrong(path, error)}",
         "Restore it from a copy, or re-run training with --restart to train from scratch", checkpoint=path)


def _what_is_wrong(path, error):
    if not os.path.isfile(path):
        return "the file is missing"
    if not zipfile.is_zipfile(path):  # Keras says "File not found" for these
        return "it is not a whole .keras file (cut short or overwritten)"
    return f"it is damaged ({str(error).splitlines()[0][:300] if str(error) else type(error).__name__})"


def load_run_model(run):
    """A run's model as evaluate, predict, export and benchmark use it: its best (else last) checkpoint, with
    what training fitted for it on the val split (`Run.calibration`) as `model.calibration`."""
    checkpoint = run.best_or_last()
    try:
        model = keras.models.load_model(checkpoint)
    except Exception as error:  # a damaged best.keras: the last finished epoch is a whole model too
        last = run.last_checkpoint
        if os.path.basename(checkpoint).startswith("last") or not os.path.isfile(last):
            _refuse(checkpoint, error)
        print(f"warning: the best checkpoint {checkpoint} cannot be loaded ({_what_is_wrong(checkpoint, error)}); "
              f"using {last}, the last finished epoch, instead")
        checkpoint, model = last, load_checkpoint(last)
    # A plain attribute, outside Keras' tracking: it is not a weight and not saved in the checkpoint.
    object.__setattr__(model, "calibration", run.calibration(checkpoint))
    return model


class TaskModel(MultiWorkerFit, keras.Model):
    """Base of the task models: functional, built from a `Backbone`, fully serialisable.

    `MultiWorkerFit` lets Keras' `fit` run under `MultiWorkerMirroredStrategy`.
    Subclasses build their graph in `__init__`, call `super().__init__(inputs, outputs)`,
    store their constructor arguments, and list them in `config_keys`.
    """

    config_keys = ()
    # How an image of any size becomes the model's square input: "resize" (stretched), or
    # "letterbox" (scaled to fit, padded with 114) where the task's outputs are in the image's
    # own pixels. Every runtime of the model (evaluate, explain, export, benchmark) sizes the same.
    sizing = "resize"
    # What training fitted on the val split (`load_run_model`): e.g. {"temperature": 1.4}; {} when none.
    calibration = {}

    def compile_defaults(self):
        """The task's `{"optimizer", "loss", "metrics"}` used where `compile` is given "auto"."""
        return {}

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Keras `compile`, with "auto" standing for the task's defaults (`compile_defaults`)."""
        given = {"optimizer": optimizer, "loss": loss, "metrics": metrics}
        auto = [key for key, value in given.items() if isinstance(value, str) and value == "auto"]
        defaults = self.compile_defaults() if auto else {}
        given.update({key: defaults.get(key) for key in auto})
        super().compile(**given, **kwargs)

    def compile_from_config(self, config):
        # Keras skips this for models that override compile(); resuming needs the
        # optimizer back, so rebuild it the same way the base class would.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable,
                  "backbone": keras.saving.serialize_keras_object(self.backbone)}
        config.update({key: getattr(self, key) for key in self.config_keys})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
