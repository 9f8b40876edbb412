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



def task_input(backbone, size=None):
    """A task model's `images` input and the tensor its backbone takes from it.

    Task models take RGB images (every image is decoded to RGB); a backbone of one input
    channel gets them through a `Grayscale` layer. Other channel counts are taken as they are.
    """
    from shared.layers.grayscale import Grayscale

    if backbone.input_channels == 1:
        inputs = keras.Input(shape=(size, size, 3), name="images")
        return inputs, Grayscale(name="grayscale")(inputs)
    inputs = keras.Input(shape=(size, size, backbone.input_channels), name="images")
    return inputs, inputs
