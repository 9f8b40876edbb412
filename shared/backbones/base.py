"""The `Backbone` seam: a functional model from images to a feature pyramid."""

import keras


@keras.saving.register_keras_serializable(package="trident")
class Backbone(keras.Model):
    """A functional model whose output is the dict `{"P2": t, ..., "P5": t}`.

    Level `Pn` is 2**n times smaller than the input. Inputs are `float32` images in
    0..255; each family scales them itself, so tasks never preprocess. Subclasses
    build their graph, then call `super().__init__(inputs, pyramid)`, and return
    their constructor arguments from `get_config()`.
    """

    def __init__(self, inputs, pyramid, **kwargs):
        super().__init__(inputs=inputs, outputs=dict(pyramid), **kwargs)
        self.pyramid_outputs = dict(pyramid)

    @property
    def pyramid_levels(self):
        """Level names, shallow to deep, e.g. `["P2", "P3", "P4", "P5"]`."""
        return sorted(self.pyramid_outputs, key=lambda level: int(level[1:]))

    def level_channels(self, level):
        return int(self.pyramid_outputs[level].shape[-1])


def image_input(input_channels):
    return keras.Input(shape=(None, None, input_channels), name="images")

