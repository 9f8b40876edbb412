"""RGB images to one grayscale channel, inside a model whose backbone takes one channel."""

import keras


@keras.saving.register_keras_serializable(package="trident")
class Grayscale(keras.layers.Layer):
    """`[B, H, W, 3]` to `[B, H, W, 1]`: ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B).

    Trident decodes every image to RGB, so a grayscale image arrives as three equal
    channels and comes out unchanged; task models and their exports keep taking RGB.
    """

    def call(self, inputs):
        weights = keras.ops.convert_to_tensor([0.299, 0.587, 0.114], dtype=inputs.dtype)
        return keras.ops.sum(inputs * weights, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)
