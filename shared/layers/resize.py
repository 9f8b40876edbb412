"""Resize a tensor to another tensor's height and width, known or not until run time."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="trident")
class ResizeLike(keras.layers.Layer):
    """`ResizeLike()([x, reference])` resizes `x` to `reference`'s spatial size.

    Unlike `UpSampling2D(interpolation="bilinear")`, this works when the size is unknown
    when the graph is built, so models export for images of any size.

    Args:
        interpolation: str, `"bilinear"` or `"nearest"`.
    """

    def __init__(self, interpolation="bilinear", **kwargs):
        super().__init__(**kwargs)
        self.interpolation = interpolation

    def call(self, inputs):
        x, reference = inputs
        resized = tf.image.resize(x, tf.shape(reference)[1:3], method=self.interpolation)
        return tf.cast(resized, x.dtype)

    def compute_output_shape(self, input_shapes):
        x, reference = input_shapes
        return (x[0], reference[1], reference[2], x[3])

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}
