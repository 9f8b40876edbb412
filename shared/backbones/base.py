"""The `Backbone` seam: a functional model from images to a feature pyramid."""

import keras

from shared.errors import fail
from shared.layers.grayscale import Grayscale
from shared.patches import sublayers


@keras.saving.register_keras_serializable(package="trident")
class Backbone(keras.Model):
    """A functional model whose output is the dict `{"P2": t, ..., "P5": t}`.

    Level `Pn` is 2**n times smaller than the input. Inputs are `float32` images in
    0..255; each family scales them itself, so tasks never preprocess. Subclasses
    build their graph, then call `super().__init__(inputs, pyramid)`, and return
    their constructor arguments (and `freeze_settings()`) from `get_config()`.

    Two settings keep pretrained weights as they came while the rest trains; they are
    constructor arguments, so a checkpoint rebuilds the backbone frozen the same way:
    - `frozen_bn=True`: every batch-norm layer keeps its statistics, scale and shift and runs
      in inference mode.
    - `frozen_to="P2"`: every layer that computes level P2 (and the levels below it) is frozen;
      besides keeping generic low-level filters, no gradient flows through the largest maps.
    """

    def __init__(self, inputs, pyramid, frozen_bn=False, frozen_to=None, **kwargs):
        super().__init__(inputs=inputs, outputs=dict(pyramid), **kwargs)
        self.pyramid_outputs = dict(pyramid)
        self.frozen_bn = bool(frozen_bn)
        self.frozen_to = frozen_to or None
        if self.frozen_to is not None and self.frozen_to not in self.pyramid_outputs:
            fail(f"Cannot freeze the backbone up to level {self.frozen_to}: it has levels "
                 f"{', '.join(self.pyramid_levels)}", "Pick one of those levels, or none", frozen_to=frozen_to)
        self._freeze_as_configured()
        if not self.trainable:  # saved in a head-first phase: Keras keeps the flag but frees the sub-layers
            self.freeze_whole(True)

    def _freeze_as_configured(self):
        if self.frozen_to is not None:
            for layer in keras.Model(self.inputs, self.pyramid_outputs[self.frozen_to]).layers:
                layer.trainable = False
        if self.frozen_bn:
            for layer in sublayers(self):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False

    def freeze_whole(self, whole):
        """Freeze every layer (`whole`: the head-first phase of a fine-tune), or go back to what `frozen_bn`
        and `frozen_to` keep frozen. Setting `trainable` reaches every sub-layer, so the configured freezing
        is laid again after it."""
        self.trainable = not whole
        for layer in sublayers(self):  # the setter alone misses them while Keras rebuilds a saved backbone
            layer.trainable = not whole
        if not whole:
            self._freeze_as_configured()

    def freeze_settings(self):
        """The freezing constructor arguments, for a subclass's `get_config`."""
        return {"frozen_bn": self.frozen_bn, "frozen_to": self.frozen_to}

    @property
    def pyramid_levels(self):
        """Level names, shallow to deep, e.g. `["P2", "P3", "P4", "P5"]`."""
        return sorted(self.pyramid_outputs, key=lambda level: int(level[1:]))

    def level_channels(self, level):
        return int(self.pyramid_outputs[level].shape[-1])


def image_input(input_channels):
    return keras.Input(shape=(None, None, input_channels), name="images")



def task_input(backbone, size=None):
    """A task model's `images` input and the tensor its backbone takes from it.

    Task models take RGB images (every image is decoded to RGB); a backbone of one input
    channel gets them through a `Grayscale` layer. Other channel counts are taken as they are.
    """

    if backbone.input_channels == 1:
        inputs = keras.Input(shape=(size, size, 3), name="images")
        return inputs, Grayscale(name="grayscale")(inputs)
    inputs = keras.Input(shape=(size, size, backbone.input_channels), name="images")
    return inputs, inputs
