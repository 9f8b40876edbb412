"""Batch normalisation through TensorFlow's fused kernel, in training and at inference."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="trident")
class FusedBatchNorm(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training step uses one fused kernel.

    Keras 3 computes training-time batch norm from separate moment, subtract, scale and
    shift ops (and as many in the gradient). For channels-last 4-D float inputs this layer
    runs TensorFlow's fused batch norm instead; the result and the moving statistics are
    Keras' own (population variance), so weights move freely between the two layers. On a
    2-core CPU a 15-layer conv + BN + SiLU stack trains about a quarter faster.

    Inference (and a frozen layer) runs the fused kernel too, with the moving statistics:
    TensorFlow's graph optimiser folds it into the convolution before it, where Keras' own
    elementwise ops stay apart (the raccoon detector at 320 px, batch 1: 22.0 against 23.4 ms).

    With `synchronized` under a distribution strategy, training takes the statistics of the
    global batch, the replicas' sums travelling in one all-reduce (`_synced`). Masks,
    renormalisation, other axes and ranks use the parent's code unchanged.
    """

    def _fusable(self, inputs, mask):
        """Whether the fused kernel computes what Keras would: channels-last 4-D, plain batch norm."""
        return (mask is None and not self.renorm and self.scale and self.center and len(inputs.shape) == 4
                and self.axis in (-1, 3) and keras.backend.backend() == "tensorflow")

    def _fused_applies(self, inputs, training, mask):
        return training and self.trainable and not self.synchronized and self._fusable(inputs, mask)

    def _fused_inference_applies(self, inputs, training, mask):
        return not (training and self.trainable) and self._fusable(inputs, mask)

    def call(self, inputs, training=None, mask=None):
        if self._synced_applies(inputs, training, mask):
            return self._synced(inputs)
        if self._fused_inference_applies(inputs, training, mask):
            return self._fused_inference(inputs)
        if not self._fused_applies(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32), epsilon=self.epsilon,
            data_format="NHWC", is_training=True)
        # The kernel reports the sample variance (n - 1); Keras tracks the population one.
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        return tf.cast(outputs, self.compute_dtype)

    def _fused_inference(self, inputs):
        """Inference through the fused kernel with the moving statistics: one op that TensorFlow's
        graph optimiser merges into the convolution before it (Keras' own is four elementwise ops
        over the whole map)."""
        x = tf.cast(inputs, tf.float32)
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            x, tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32),
            mean=tf.cast(self.moving_mean, tf.float32), variance=tf.cast(self.moving_variance, tf.float32),
            epsilon=self.epsilon, data_format="NHWC", is_training=False)
        return tf.cast(outputs, self.compute_dtype)

    def _synced_applies(self, inputs, training, mask):
        return (training and self.trainable and mask is None and self.synchronized and not self.renorm
                and self.scale and self.center and self.axis in (-1, len(inputs.shape) - 1)
                and tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context() is False)

    def _synced(self, inputs):
        """Training-time batch norm over the global batch: the replicas' sums, sums of squares and
        counts travel in one all-reduce (Keras' own synchronised path sends three, and under
        MultiWorkerMirroredStrategy its gradient disagreed with one process's)."""
        x = tf.cast(inputs, tf.float32)
        axes = list(range(len(x.shape) - 1))
        channels = x.shape[-1]
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        local = tf.concat([tf.reduce_sum(x, axes), tf.reduce_sum(tf.square(x), axes), count[None]], 0)
        total = _sum_over_replicas(local)
        n = tf.maximum(total[-1], 1.0)
        mean = total[:channels] / n
        variance = tf.maximum(total[channels:2 * channels] / n - tf.square(mean), 0.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + tf.stop_gradient(mean) * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + tf.stop_gradient(variance) * (1.0 - momentum))
        outputs = tf.nn.batch_normalization(x, mean, variance, tf.cast(self.beta, tf.float32),
                                            tf.cast(self.gamma, tf.float32), self.epsilon)
        return tf.cast(outputs, self.compute_dtype)


@tf.custom_gradient
def _sum_over_replicas(values):
    """The sum of `values` over all replicas; its gradient is the sum of the replicas' gradients."""
    context = tf.distribute.get_replica_context()

    def gradient(upstream):
        return context.all_reduce(tf.distribute.ReduceOp.SUM, upstream)

    return context.all_reduce(tf.distribute.ReduceOp.SUM, values), gradient
