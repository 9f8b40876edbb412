"""Training on several devices or machines through `tf.distribute`, with the same `fit`.

`--strategy` picks one of:

- `one_device`: TensorFlow's default strategy (one CPU or GPU), what Trident always did.
- `mirrored`: `MirroredStrategy` over this machine's GPUs (or its logical CPU devices
  when it has no GPU): one replica per device, gradients summed every step.
- `multi_worker`: `MultiWorkerMirroredStrategy` over the machines `TF_CONFIG` names (the
  standard cluster description, the same on every machine except its `task`). Every
  machine runs the same command; worker 0 (or the `chief` task) is the chief.
- `auto` (default): multi_worker when `TF_CONFIG` names more than one task, mirrored
  when more than one GPU is visible, one_device otherwise.

`--batch-size` is the global batch: each step takes that many images, split evenly over
the replicas, so a run on N replicas with the same flags follows the same curve as one
device. Left to its default, the batch grows with the replicas (the chosen per-device
batch times N) and the learning rate by the square root of N, the rule for Adam-type
optimizers (Malladi et al. 2022, "On the SDEs and Scaling Rules for Adaptive Gradient
Algorithms"); an explicit `--lr` is kept as given.

Keras 3's `fit` under `MultiWorkerMirroredStrategy` fails (keras-team/keras#20585): it
reduces a per-replica batch to build the model, and reduces per-replica scalar logs along
axis 0. `shared.patches.MultiWorkerFit` (mixed into every task model) mends both: the
build takes the first local replica's batch, and each step's logs leave the replica as
one-element vectors, which the axis-0 reduction averages into the same scalars one device
reports.
"""

import contextlib
import json
import math
import os

import keras
import tensorflow as tf

from shared.errors import fail
from shared.patches import sublayers

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


def cluster_spec():
    """`(tasks, chief?, index)` from `TF_CONFIG`, or None when it is unset.

    `tasks` counts every chief and worker task; the chief is the `chief` task, or worker
    0 when the cluster has none.
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        kind, index = task["type"], int(task.get("index", 0))
        tasks = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        fail(f"TF_CONFIG is not a cluster description ({error.__class__.__name__}: {error})",
             'Set it to JSON like {"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
             '"task": {"type": "worker", "index": 0}} (index: this machine\'s place in the list)',
             tf_config=text[:200])
    if kind not in ("chief", "worker"):
        fail(f"TF_CONFIG's task type is {kind!r}: Trident trains with chief and worker tasks only",
             'Give each machine {"type": "worker", "index": N} (or "chief" for one of them)', tf_config=text[:200])
    places = cluster.get(kind) or []
    if not 0 <= index < len(places):
        fail(f"TF_CONFIG's task is {kind} {index}, but its cluster lists {len(places)} {kind} address(es)"
             + (f" (indices 0 to {len(places) - 1})" if places else ""),
             f"Give this machine the index of its own address in the cluster's `{kind}` list", tf_config=text[:200])
    has_chief = bool(cluster.get("chief"))
    chief = kind == "chief" or (not has_chief and index == 0)
    return tasks, chief, index, str(places[index])


def _check_port_free(address):
    """Refuse, before TensorFlow tries to listen there, an address of this machine whose port is taken."""
    import errno
    import socket

    port = address.rsplit(":", 1)[-1]
    if not port.isdigit():
        fail(f"TF_CONFIG gives this machine the address {address!r}, which has no port",
             "Write each address as host:port, e.g. 10.0.0.1:2222", address=address)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("0.0.0.0", int(port)))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fail(f"Port {port} of this machine's address {address} in TF_CONFIG is in use by another program "
                 "(an earlier run still going?)", "Stop that program, or give this machine a free port in TF_CONFIG "
                 "on every machine", address=address)
    finally:
        probe.close()


def loopback_tf_config(ports, index):
    """`TF_CONFIG` for worker `index` of workers on this machine's `ports` (127.0.0.1): to try
    multi_worker on one machine, and for tests and benchmarks."""
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": int(index)}})


def free_ports(count):
    """`count` TCP ports free on 127.0.0.1 just now."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Distribution:
    """A strategy and this process's place in it.

    Attributes:
        strategy: the `tf.distribute.Strategy` (TensorFlow's default one for one_device).
        name: the strategy's `--strategy` name, as resolved from "auto".
        workers: machines training together (1 unless multi_worker).
        is_chief: whether this process writes the run folder.
    """

    def __init__(self, strategy, name, workers=1, is_chief=True):
        self.strategy, self.name, self.workers, self.is_chief = strategy, name, workers, is_chief
        self._agree = None  # the compiled collective step of `agree`

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    @property
    def multi_worker(self):
        return self.workers > 1

    def scope(self):
        """Build and load models inside this (their variables then live on every replica)."""
        return self.strategy.scope() if self.name != "one_device" else contextlib.nullcontext()

    def agree(self, values):
        """The chief's `values` (a list of floats), the same on every worker.

        Every worker must call it at the same point: it is one collective step. Used where
        each machine would decide by itself from its own clock or files.
        """
        if not self.multi_worker:
            return [float(v) for v in values]
        if self._agree is None:
            strategy = self.strategy

            def chief_only(local):
                first = tf.distribute.get_replica_context().replica_id_in_sync_group == 0
                return tf.where(first, local, tf.zeros_like(local))

            self._agree = tf.function(
                lambda local: strategy.reduce("SUM", strategy.run(chief_only, args=(local,)), axis=None),
                reduce_retracing=True)
        total = self._agree(tf.constant([float(v) for v in values], tf.float32))
        return [float(v) for v in total.numpy()]


def make_distribution(name="auto"):
    """The `Distribution` for `--strategy name`; call it before any other TensorFlow work.

    Raises:
        TridentError: an unknown name, multi_worker without `TF_CONFIG`, or a bad `TF_CONFIG`.
    """
    if name not in STRATEGIES:
        fail(f"--strategy {name} is not one of {', '.join(STRATEGIES)}", "Pick one of those (auto suits most runs)",
             strategy=name)
    cluster = cluster_spec()
    name = resolve_strategy(name, cluster, len(tf.config.list_physical_devices("GPU")))
    if name == "one_device":
        return Distribution(tf.distribute.get_strategy(), name)
    if name == "mirrored":
        if "mirrored" not in _MADE:  # one per process: a second one's collectives collide with the first's
            _MADE["mirrored"] = Distribution(tf.distribute.MirroredStrategy(_local_devices()), name)
        return _MADE["mirrored"]
    if cluster is None:
        fail("--strategy multi_worker needs TF_CONFIG, the description of the machines training together",
             'Set TF_CONFIG on every machine, e.g. {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}, '
             '"task": {"type": "worker", "index": 0}} (index 1 on the second); see the README', strategy=name)
    tasks, chief, _, address = cluster
    if "multi_worker" not in _MADE:  # TensorFlow allows one per process
        _check_port_free(address)
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=tf.distribute.experimental.CommunicationImplementation.RING))
        _MADE["multi_worker"] = Distribution(strategy, name, workers=tasks, is_chief=chief)
    return _MADE["multi_worker"]


_MADE = {}  # the strategies this process has made


def resolve_strategy(name, cluster, gpus):
    """The strategy `auto` stands for: multi_worker when `cluster` (`cluster_spec()`) has more
    than one task, mirrored with more than one GPU, else one_device; other names as given."""
    if name != "auto":
        return name
    return "multi_worker" if cluster and cluster[0] > 1 else "mirrored" if gpus > 1 else "one_device"


def _local_devices():
    """This machine's GPUs, or its logical CPU devices when it has none."""
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def split_cpu(count):
    """Split this machine's CPU into `count` logical devices, so `mirrored` can run on a
    CPU-only machine (for trying it out and for tests; it does not make training faster).
    Must run before TensorFlow starts its devices."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def scaled_for_replicas(config, explicit, replicas):
    """Grow a defaulted batch with the replicas and the learning rate by the square root
    of the growth (see the module's note); returns `{key: reason}` for what changed."""
    reasons = {}
    if replicas <= 1 or "batch_size" in explicit:
        return reasons
    per_device = config["batch_size"]
    config["batch_size"] = per_device * replicas
    reasons["batch_size"] = f"{per_device} per replica times {replicas} replicas"
    if "lr" not in explicit:
        base = config["lr"]
        config["lr"] = base * math.sqrt(replicas)
        reasons["lr"] = (f"{base:g} times sqrt({replicas}): the batch grew {replicas}x (square-root rule for "
                         "Adam-type optimizers)")
    return reasons


def shard(dataset, distribution, images=None, batch=None):
    """`dataset` (of batches) ready for `distribution`: split by elements across workers (with
    the same seeded shuffle on every worker each takes its own part of every global batch, so
    no two train on the same image in an epoch). Given the `images` it holds in batches of
    `batch` (training), a last batch too small to give every replica an image is left out
    (TensorFlow's convolution rejected an empty share; at most replicas - 1 images an epoch)."""
    if distribution is None or distribution.replicas <= 1:
        return dataset
    replicas = distribution.replicas
    if images and batch and 0 < images % batch < replicas:
        batches = int(dataset.cardinality())
        dataset = dataset.filter(lambda *part: tf.shape(tf.nest.flatten(part)[0])[0] >= replicas)
        if batches > 0:
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches - 1))
    if distribution.multi_worker:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
    return dataset


def per_replica_share(loss):
    """`loss` divided by the replicas in sync, as Keras' own `Loss` objects do: the summed
    gradients are then those of the global batch's mean. For losses computed outside a
    `keras.losses.Loss` (a model's own `compute_loss`)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync if tf.distribute.has_strategy() else 1
    return loss / replicas if replicas > 1 else loss


# Below this many images per replica, batch norm takes its statistics over the global batch. Each
# replica's own share estimates them well from about 32 images (Goyal et al. 2017 trained ResNet-50
# with 32 per GPU and local statistics); syncing costs two all-reduces per layer and step (on two
# loopback workers, 218 ms a step instead of 120 for the compact backbone at 32 px; Keras' own
# synchronised path, three all-reduces each way, took 420).
SYNC_BELOW = 32


def sync_batch_norm_for(distribution, global_batch):
    """Whether batch norm should use the global batch's statistics for this run."""
    return distribution.replicas > 1 and global_batch / distribution.replicas < SYNC_BELOW


def synchronize_batch_norm(model, on):
    """Batch statistics over the global batch (every replica's share) instead of each replica's
    own: with several replicas each sees only part of a batch, and its statistics would differ
    from one device's (`FusedBatchNorm` sends them in one all-reduce per layer)."""
    for layer in sublayers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = bool(on)
