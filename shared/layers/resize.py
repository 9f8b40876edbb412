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


@keras.saving.register_keras_serializable(package="trident")
class SubpixelLike(keras.layers.Layer):
    """`SubpixelLike(factor)([x, reference])`: depth-to-space by `factor`, cropped to `reference`'s size.

    `x` holds `factor**2` sub-positions per output channel (sub-pixel convolution, Shi et
    al., 2016): each coarse cell says what each of its `factor x factor` pixels gets, so the
    result can carry detail finer than the coarse grid, such as corners and thin tips,
    which bilinear resizing rounds off. Cell `i` covers pixels `factor*i .. factor*i +
    factor - 1`, as strided "same" convolutions (padded at the end) see them. Any input
    size works: rows and columns past the reference (odd sizes rounded up) are cropped, and
    those short of it (odd sizes rounded down by "valid" pooling) are filled with zeros,
    which leaves a residual added to a resized map unchanged there.

    Args:
        factor: int, the stride of `x` relative to `reference`.
    """

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        x, reference = inputs
        height, width = tf.shape(reference)[1], tf.shape(reference)[2]
        fine = tf.nn.depth_to_space(x, self.factor)
        short_h = tf.maximum(height - tf.shape(fine)[1], 0)
        short_w = tf.maximum(width - tf.shape(fine)[2], 0)
        fine = tf.pad(fine, [[0, 0], [0, short_h], [0, short_w], [0, 0]])
        return fine[:, :height, :width, :]

    def compute_output_shape(self, input_shapes):
        x, reference = input_shapes
        channels = None if x[3] is None else x[3] // self.factor**2
        return (x[0], reference[1], reference[2], channels)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
