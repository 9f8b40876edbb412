"""Model size and inference speed, measured the same way for every task's report."""

import os
import statistics
import time

import numpy as np


def model_stats(model, input_shape, checkpoint=None, batch_size=32, repeats=15):
    """Parameter count, checkpoint size and CPU inference speed.

    Args:
        model: `keras.Model` taking one image tensor.
        input_shape: tuple `(H, W, C)` of one image.
        checkpoint: str, file whose size to report, or None.

    Returns:
        dict with `parameters`, `checkpoint_mb`, `ms_per_image_batch1` (median of
        `repeats` calls after warm-up) and `images_per_second_batch{N}`.
    """
    one = np.zeros((1, *input_shape), np.float32)
    many = np.zeros((batch_size, *input_shape), np.float32)
    for _ in range(2):
        model.predict_on_batch(one)
        model.predict_on_batch(many)
    single = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(one)
        single.append(time.perf_counter() - start)
    start = time.perf_counter()
    rounds = max(2, repeats // 5)
    for _ in range(rounds):
        model.predict_on_batch(many)
    batched = (time.perf_counter() - start) / rounds
    return {
        "parameters": int(model.count_params()),
        "checkpoint_mb": round(os.path.getsize(checkpoint) / 2**20, 2) if checkpoint else None,
        "ms_per_image_batch1": round(1000 * statistics.median(single), 3),
        f"images_per_second_batch{batch_size}": round(batch_size / batched, 1),
    }
