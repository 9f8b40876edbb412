"""One process of the distributed-training tests: trains a tiny classifier through Trident's
`fit` and writes its final weights and epoch losses to `OUT/worker-<index>.npz`.

    python -m tests.distributed_worker OUT                  # one process (one_device)
    python -m tests.distributed_worker OUT PORT,PORT INDEX  # one of the workers on 127.0.0.1
"""

import os
import sys

GLOBAL_BATCH = 8


def main(out, ports=None, index=0):
    from shared.engine.distribute import (loopback_tf_config, make_distribution, shard, sync_batch_norm_for,
                                          synchronize_batch_norm)

    if ports:
        os.environ["TF_CONFIG"] = loopback_tf_config(ports.split(","), index)

    distribution = make_distribution("multi_worker" if ports else "one_device")  # before other TensorFlow work

    import numpy as np
    import tensorflow as tf

    from shared.backbones import build_backbone
    from shared.engine.runs import prepare_run
    from shared.settings import TRAINING, config_type
    from shared.engine.training import fit, set_seed
    from tasks.classification.model import build_classifier

    set_seed(0)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (32, 16, 16, 3)).astype(np.float32)
    labels = np.arange(32) % 3
    images[labels == 1, 4:12, 4:12] = 250.0  # something to learn
    with distribution.scope():
        model = build_classifier(build_backbone("compact", widths=(8, 8, 16, 16)), 3, 16, ["a", "b", "c"],
                                 dropout=0.0)  # dropout would draw other masks on each worker
        model.compile()
    synchronize_batch_norm(model, sync_batch_norm_for(distribution, GLOBAL_BATCH))
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(GLOBAL_BATCH)
    run, _ = prepare_run(os.path.join(out, f"runs-{index}"), "r", config_type(TRAINING)(epochs=3), restart=True)
    fit(model, shard(data, distribution), shard(data, distribution), run, epochs=3, monitor="val_loss", mode="min",
        lr=3e-3, warmup_epochs=0.5, verbose=0, distribution=distribution, time_budget=600)
    history = model.history.history
    np.savez(os.path.join(out, f"worker-{index}.npz"), *model.get_weights(),
             loss=np.array(history["loss"]), val_loss=np.array(history["val_loss"]))


if __name__ == "__main__":
    main(*sys.argv[1:])
