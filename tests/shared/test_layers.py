import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.layers.norm import FusedBatchNorm
from shared.layers.resize import SubpixelLike


def _pair(channels, seed=0):
    rng = np.random.default_rng(seed)
    keras_bn, fused_bn = keras.layers.BatchNormalization(momentum=0.9), FusedBatchNorm(momentum=0.9)
    for layer in (keras_bn, fused_bn):
        layer.build((None, None, None, channels))
    gamma, beta = rng.normal(size=channels).astype("float32"), rng.normal(size=channels).astype("float32")
    for layer in (keras_bn, fused_bn):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return keras_bn, fused_bn


@pytest.mark.parametrize("shape", [(2, 5, 6, 7), (3, 1, 1, 4)])
def test_fused_batch_norm_trains_exactly_like_keras(shape):
    keras_bn, fused_bn = _pair(shape[-1])
    x = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, shape).astype("float32"))
    weights = tf.range(shape[-1], dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        expected, got = keras_bn(x, training=True), fused_bn(x, training=True)
        expected_loss, got_loss = tf.reduce_sum(expected * weights), tf.reduce_sum(got * weights)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(got_loss, x), tape.gradient(expected_loss, x), atol=1e-4)
    np.testing.assert_allclose(tape.gradient(got_loss, fused_bn.gamma), tape.gradient(expected_loss, keras_bn.gamma),
                               atol=1e-3)
    # Moving statistics track the population variance, as Keras does.
    np.testing.assert_allclose(fused_bn.moving_mean, keras_bn.moving_mean, atol=1e-6)
    np.testing.assert_allclose(fused_bn.moving_variance, keras_bn.moving_variance, atol=1e-5)
    np.testing.assert_allclose(fused_bn(x, training=False), keras_bn(x, training=False), atol=1e-5)


def test_frozen_fused_batch_norm_infers_like_keras_with_its_moving_statistics():
    keras_bn, fused_bn = _pair(5, seed=2)
    rng = np.random.default_rng(3)
    mean, variance = rng.normal(size=5).astype("float32"), rng.uniform(0.5, 2.0, 5).astype("float32")
    for layer in (keras_bn, fused_bn):
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(variance)
        layer.trainable = False  # frozen: training=True still normalises with the moving statistics
    x = tf.constant(rng.normal(1.0, 2.0, (2, 4, 3, 5)).astype("float32"))
    expected = (x - mean) / np.sqrt(variance + keras_bn.epsilon) * keras_bn.gamma + keras_bn.beta
    for training in (False, True):
        np.testing.assert_allclose(fused_bn(x, training=training), keras_bn(x, training=training), atol=1e-5)
        np.testing.assert_allclose(fused_bn(x, training=training), expected, atol=1e-5)
    np.testing.assert_array_equal(fused_bn.moving_mean, mean)  # and leaves them as they were


def test_fused_batch_norm_round_trips_through_a_saved_model(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, FusedBatchNorm(name="bn")(inputs))
    model.compile(loss="mse")
    model.fit(np.random.default_rng(0).random((4, 8, 8, 3), dtype="float32") * 5, np.zeros((4, 8, 8, 3)),
              epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("bn").moving_variance, 1.0)  # training moved the statistics
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.get_layer("bn"), FusedBatchNorm)
    np.testing.assert_array_equal(loaded.get_layer("bn").moving_variance, model.get_layer("bn").moving_variance)


def test_subpixel_puts_each_sub_position_on_its_pixel_and_crops_to_the_reference():
    # cell (i, j), channel (a * 2 + b) * 3 + c  ->  pixel (2i + a, 2j + b), class c
    rng = np.random.default_rng(0)
    coarse = rng.normal(size=(2, 3, 4, 2 * 2 * 3)).astype("float32")
    reference = np.zeros((2, 5, 7, 1), np.float32)  # odd sizes: 6x8 from depth-to-space, cropped
    out = np.asarray(SubpixelLike(2)([coarse, reference]))
    assert out.shape == (2, 5, 7, 3)
    for y in range(5):
        for x in range(7):
            channels = ((y % 2) * 2 + x % 2) * 3 + np.arange(3)
            np.testing.assert_array_equal(out[:, y, x], coarse[:, y // 2, x // 2, channels])
    short = np.asarray(SubpixelLike(2)([coarse, np.zeros((2, 7, 9, 1), np.float32)]))  # 6x8 padded to 7x9
    np.testing.assert_array_equal(short[:, :6, :8], np.asarray(SubpixelLike(2)([coarse, np.zeros((2, 6, 8, 1))])))
    assert not short[:, 6:].any() and not short[:, :, 8:].any()
    layer = SubpixelLike(4)
    assert layer.compute_output_shape(((None, 8, 8, 32), (None, None, None, 3))) == (None, None, None, 2)
    assert SubpixelLike.from_config(layer.get_config()).factor == 4
