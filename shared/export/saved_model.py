"""SavedModel export: serving endpoints, TF Serving layout, reload-and-compare.

A task supplies `serve(images)`: a function from `uint8 [B, H, W, 3]` images of any
size to a dict of output tensors, with every preprocessing and postprocessing step
inside. This module wraps it in two endpoints:

    serving_default(images: uint8 [B, H, W, C])   -> the task's outputs (C: 1, 3 or 4)
    serve_bytes(image_bytes: string [B])           -> the same, per encoded image
    raw_outputs(inputs: float32 [B, S, S, 3])      -> the network's own outputs, undecoded

Both image endpoints take grayscale (C = 1) and RGBA (alpha dropped) batches, and answer
an empty batch with empty outputs.

writes `<root>/<name>/<version>/` (versions count up, as TF Serving expects) with
`assets.extra/trident.json` describing it, and only moves it into place after the
reloaded SavedModel has matched the Keras model.
"""

import contextlib
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf

from shared.data.decode import MAX_PIXELS, decode_image, header_size
from shared.data.preprocess import resize_images, uint8_at_size
from shared.data.recorded import run_splits
from shared.errors import fail
from shared.export.portable import PORTABLE
from shared.io import (atomic_path, process_running, read_record, remove_stale_temporaries, write_bytes, write_json,
                       write_text)

IMAGES_SPEC = tf.TensorSpec([None, None, None, None], tf.uint8, name="images")
RGB_SPEC = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")
BYTES_SPEC = tf.TensorSpec([None], tf.string, name="image_bytes")


FORMATS = ("saved_model",) + tuple(PORTABLE)


def endpoints(outputs, sizes="any sizes"):
    """The manifest's description of the two endpoints, given what `serving_default` returns."""
    return {"serving_default": f"images: uint8 [B, H, W, C], any size (one per batch), C = 1 (grey), 3 or 4 "
                               f"(alpha dropped), B may be 0 -> {outputs}",
            "serve_bytes": f"image_bytes: string [B] (JPEG/PNG/BMP/GIF, {sizes}) -> the same outputs",
            "raw_outputs": "inputs: float32 [B, S, S, 3] at the training size, 0..255 -> the network's own outputs"}


_CLAIM = re.compile(r"^\.(\d+)\.claim$")


def next_version(root, name):
    """`(root/name/<n>, claim)`: n one above the highest version written or claimed (1 for the first),
    claimed for this process by the file `claim` (created atomically, holding the process id: two exports at
    once get two versions); the caller removes the claim once the version is in place or given up.

    Temporary folders and claims of exports whose process is gone (killed mid-write) are removed.
    """
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    remove_stale_temporaries(folder)
    versions = []
    for entry in os.listdir(folder):
        claim = _CLAIM.match(entry)
        if claim and not _claimed_by_live(os.path.join(folder, entry)):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, entry))
        elif claim or entry.isdigit():
            versions.append(int(claim.group(1) if claim else entry))
    version = max(versions, default=0) + 1
    while True:
        claim = os.path.join(folder, f".{version}.claim")
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            version += 1
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        if not os.path.exists(os.path.join(folder, str(version))):
            return os.path.join(folder, str(version)), claim
        os.remove(claim)  # written meanwhile by an export that has finished
        version += 1


def _claimed_by_live(claim):
    try:
        with open(claim) as f:
            return process_running(int(f.read().strip()))
    except (OSError, ValueError):
        return True  # being written just now


def images_endpoint(serve):
    """`serve` for batches of 1, 3 or 4 channels (grey repeated, alpha dropped), empty batches included."""

    @tf.function
    def serve_images(images):
        images = tf.cond(tf.shape(images)[-1] < 3, lambda: tf.tile(images[..., :1], [1, 1, 1, 3]),
                         lambda: images[..., :3])
        images = tf.ensure_shape(images, [None, None, None, 3])

        def empty():  # the outputs of one blank image of the batch's size, cut to none
            shape = tf.shape(images)
            blank = tf.zeros([1, tf.maximum(shape[1], 1), tf.maximum(shape[2], 1), 3], tf.uint8)
            return tf.nest.map_structure(lambda t: t[:0], serve(blank))

        return tf.cond(tf.shape(images)[0] > 0, lambda: serve(images), empty)

    return serve_images


def bytes_endpoint(serve, max_pixels=MAX_PIXELS):
    """`serve` lifted to a batch of encoded images, decoded and served one at a time; an image of more than
    `max_pixels` pixels is refused from its header, before it is decoded. Where the answers are at the
    image's own size (masks), the images of one call must share a size, checked the same way."""
    outputs = serve.get_concrete_function(RGB_SPEC).structured_outputs
    signature = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape[1:], t.dtype), outputs)
    sized = any(None in s.shape[:2] for s in tf.nest.flatten(signature) if s.shape.rank >= 2)
    fix = "Shrink the image, or export the model again with a higher `export --max-pixels`"

    def serve_one(data):
        result = serve(decode_image(data, max_pixels=max_pixels, fix=fix)[tf.newaxis])
        return tf.nest.map_structure(lambda t: t[0], result)

    def empty():
        return tf.nest.map_structure(lambda s: tf.zeros([0] + [d or 0 for d in s.shape], s.dtype), signature)

    def one_size(image_bytes):
        sizes = tf.map_fn(header_size, image_bytes, fn_output_signature=tf.int64)
        return tf.debugging.assert_equal(
            sizes, tf.broadcast_to(sizes[:1], tf.shape(sizes)),
            message="serve_bytes answers at each image's own size, so the images of one call must have one size: "
                    "send images of different sizes in separate calls")

    @tf.function
    def serve_bytes(image_bytes):
        checks = [one_size(image_bytes)] if sized else []
        with tf.control_dependencies(checks):
            return tf.cond(tf.size(image_bytes) > 0,
                           lambda: tf.map_fn(serve_one, image_bytes, fn_output_signature=signature), empty)

    return serve_bytes


def write_saved_model(path, model, serve, manifest, labels=None, max_pixels=MAX_PIXELS):
    """Write a SavedModel with both endpoints and `assets.extra/` at `path` (a new folder); `serve_bytes`
    refuses images of more than `max_pixels` pixels."""
    serve = tf.function(serve)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", images_endpoint(serve), input_signature=[IMAGES_SPEC])
    archive.add_endpoint("serve_bytes", bytes_endpoint(serve, max_pixels), input_signature=[BYTES_SPEC])
    size = model.image_size
    archive.add_endpoint("raw_outputs", tf.function(lambda inputs: model(inputs, training=False)),
                         input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="inputs")])
    archive.write_out(path, verbose=False)
    extra = os.path.join(path, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    write_json(os.path.join(extra, "trident.json"), manifest)
    if labels is not None:
        write_text(os.path.join(extra, "labels.txt"), "\n".join(labels) + "\n")


def export_verified(root, name, model, serve, manifest, compare, labels=None, tolerance=1e-4, run=None,
                    formats=("saved_model",), max_pixels=MAX_PIXELS):
    """Export to the next version folder, reload, compare, and keep it only if it matches.

    Args:
        formats: `FORMATS` to write; "tflite", "tflite_int8" and "onnx" add `model.tflite`,
            `model_int8.tflite` / `model.onnx` (`shared.export.portable`) to the version folder, checked
            against the same images and tolerance (int8: its difference recorded, not held to it).
        run: the `Run` exported; its `export.json` records where the kept export is.
        compare: callable `(loaded SavedModel) -> {"answers", "raw_outputs": max |difference|,
            "images": how many}` (see `make_compare`).
        tolerance: float, the largest difference accepted, in answers and in raw outputs.

    Returns:
        (path, manifest) of the kept export.

    Raises:
        TridentError: the reloaded model disagrees with the Keras model; nothing is kept.
    """
    record = run.file("export.json") if run is not None else None
    previous = open(record, "rb").read() if record and os.path.isfile(record) else None
    wrote = False
    final, claim = next_version(root, name)
    try:
        with atomic_path(final) as tmp:
            manifest = dict(manifest, max_pixels=max_pixels)
            write_saved_model(tmp, model, serve, manifest, labels, max_pixels)
            manifest = _checked(manifest, compare(tf.saved_model.load(tmp)), tolerance, final)
            for name in formats:
                if name in PORTABLE:
                    manifest = dict(manifest, **{name: PORTABLE[name](tmp, model, serve, compare, tolerance, final)})
            write_json(os.path.join(tmp, "assets.extra", "trident.json"), manifest)
            if record:  # the run's record first: if the run folder cannot take it, no export is kept either
                write_json(record, {"path": os.path.abspath(final), **manifest})
                wrote = True
    except BaseException:
        if wrote:  # the export was not kept after all: the run's record goes back to what it was
            write_bytes(record, previous) if previous is not None else os.remove(record)
        raise
    finally:
        os.remove(claim)
    return final, manifest


def _checked(manifest, checked, tolerance, final):
    """`manifest` with what the reload check compared, or the project's error when it did not match."""
    difference = max(checked["answers"], checked["raw_outputs"])
    if checked["images"] < 1:
        fail(f"No held-out image to check the export on; nothing was written to {final}",
             "Keep the run's data in place (or pass --compare-images 1 or more)", compared=checked["images"])
    if not np.isfinite(difference) or difference > tolerance:
        fail(f"The reloaded SavedModel differs from the Keras model by {difference:.3g} "
             f"(tolerance {tolerance}); nothing was written to {final}",
             "Report this as a bug with the run folder attached", max_abs_diff=float(difference))
    return dict(manifest, max_abs_diff=float(difference), compared_images=int(checked["images"]),
                compared={"answers_max_abs_diff": float(checked["answers"]),
                          "raw_outputs_max_abs_diff": float(checked["raw_outputs"]),
                          "what": "both endpoints' final answers at the export's own settings, and the network's "
                                  "raw outputs (every box, score or probability before any threshold), against "
                                  "the Keras model on held-out images"},
                tolerance=tolerance, exported=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def held_out_images(run, config, load, limit):
    """Up to `limit` original-size images of the run's test split (else val, else train), as a
    `HeldOut` list whose `training(count)` draws images of the training split (int8 calibration).

    `config` holds the run's settings; `load(val_fraction, test_fraction) -> (splits, info)` reads
    its data; the splits are the ones the run recorded (`shared.data.recorded.run_splits`).
    """
    splits, _ = run_splits(run, config, load)
    part = next((splits[s] for s in ("test", "val", "train") if len(splits[s])), None)
    if part is None:
        fail(f"The data of run {run.path} has no images to check the export on", "Restore the run's data",
             run=run.path)
    return HeldOut([part.image(i) for i in range(min(limit, len(part)))], splits["train"])


class HeldOut(list):
    """Held-out images (a list) that also reach the run's training split."""

    def __init__(self, images, train):
        super().__init__(images)
        self._train = train

    def replaced(self, images):
        """Other held-out images (the same ones at other sizes, say), the same training split."""
        return HeldOut(images, self._train)

    def training(self, count, seed=0):
        """Up to `count` training images, an evenly seeded draw over the whole split."""
        if not len(self._train):
            return []
        chosen = np.random.default_rng(seed).permutation(len(self._train))[:count]
        return [self._train.image(int(i)) for i in sorted(chosen)]


def make_compare(model, serve, images, difference):
    """`compare(loaded)` for `export_verified`: both endpoints against `serve`, image by image,
    and the export's `raw_outputs` against `model` on the same images at the model's size.

    Args:
        model: the Keras model exported.
        serve: the end-to-end function the export was made from (uint8 `[1, H, W, 3]` -> dict).
        images: uint8 `[H, W, 3]` arrays.
        difference: `(served, expected, image) -> float`, both dicts of numpy arrays; inf
            when the two disagree in kind (a count, a class, a shape).
    """
    import io

    from PIL import Image

    def numpy(outputs):
        return {k: v.numpy() for k, v in outputs.items()}


    def compare(loaded):
        worst, raw = 0.0, 0.0
        for image in images:
            inputs = resize_images(tf.constant(image[None]), model.image_size)
            for ours, theirs in zip(tf.nest.flatten(model(inputs, training=False)),
                                    tf.nest.flatten(loaded.raw_outputs(inputs))):
                raw = _worse(raw, np.abs(ours.numpy() - theirs.numpy()).max())
            expected = numpy(serve(tf.constant(image[None])))
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            for served in (loaded.signatures["serving_default"](images=tf.constant(image[None])),
                           loaded.serve_bytes(tf.constant([buffer.getvalue()]))):
                worst = _worse(worst, difference(numpy(served), expected, image))
        return {"answers": worst, "raw_outputs": raw, "images": len(images)}

    def against(answer, size):
        """The largest difference of `answer(image) -> dict of numpy` (another runtime, taking
        uint8 images at the model's `size`) from `serve` on the same images."""

        worst = 0.0
        for image in images:
            sized, _ = uint8_at_size(image, size, letterboxed=model.sizing == "letterbox")
            worst = _worse(worst, difference(answer(sized), numpy(serve(tf.constant(sized[None]))), sized))
        return worst

    compare.against = against
    compare.training = getattr(images, "training", lambda count: [])
    return compare


def _worse(worst, difference):
    """The larger of two differences, where not a number (NaN) counts as infinitely bad."""
    difference = float(difference)
    return float("inf") if not np.isfinite(difference) else max(worst, difference)


def resolve_saved_model(path):
    """A SavedModel folder from itself or from `<root>/<name>` (its highest version)."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = [int(d) for d in os.listdir(path) if d.isdigit()] if os.path.isdir(path) else []
    if versions:
        return os.path.join(path, str(max(versions)))
    fail(f"{path} is neither a SavedModel folder nor a folder of numbered versions",
         "Pass saved_models/<name> or saved_models/<name>/<version> written by `export`", model=path)


def read_export_manifest(path):

    file = os.path.join(path, "assets.extra", "trident.json")
    return read_record(file, "export manifest", "Export the run again", missing={})
