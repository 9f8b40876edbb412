"""Why a model decided: class-activation heat maps through the backbone's pyramid.

Works on any Trident task model (a run's checkpoint or a loaded `.keras` file; an
export holds no gradients). The model is re-wired once so that one forward pass
returns the chosen pyramid levels beside the task's outputs; a target function picks the
score to explain (a class, a class region of a segmentation, a detected box), and one
backward pass gives its gradient at every chosen level. By default the maps of the
shallow levels are multiplied together (see `default_levels`).

    explain = Explainer(model)
    heat = explain.image(image, class_score(3))

Methods: `gradcam` (feature maps weighted by their mean gradient; Selvaraju et al.
2017) and `layercam` (each position weighted by its own positive gradient; Jiang et
al. 2021), which keeps small objects apart on shallower levels.
"""

import contextlib
import dataclasses

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops
from tensorflow.python.ops import gen_nn_ops

from shared.data.letterbox import letterbox
from shared.data.preprocess import resize_images
from shared.engine.runs import model_kind, open_run
from shared.errors import fail
from shared.io import write_bytes
from shared.patches import graph_outputs
from shared.reports.draw import png_bytes
from shared.task_model import load_run_model

METHODS = ("gradcam", "layercam")
# The default levels: LayerCAM at every level from the shallowest through the deepest one at least
# 8 cells across (and at least three levels), multiplied together: a place stays hot only where the
# fine levels (sharp, little meaning) and the deep ones (coarse, the class) agree, as Poly-CAM
# (Englebert et al. 2022) refines a deep map with finer ones. One backward pass gives them all.
# Measured share of heat on the object (the pointing game's mass; its peak-inside rate in brackets;
# the object's share of the image, what a uniform map scores, in braces):
#   shapes detection, 10-minute default run, 75 true boxes {0.087}: P3 alone 0.605 (0.88),
#     P1xP2xP3 0.912 (1.00), P1xP2xP3xP4 0.929 (1.00)
#   shapes segmentation, 10-minute default run, 66 class regions {0.065}: P3 alone 0.353 (0.62),
#     P4 alone 0.441 (0.89), P1xP2xP3 0.710 (0.88), P1xP2xP3xP4 0.791 (0.86)
#   digits, default run, ink of 64 test images {0.333}: P1 alone 0.615 (0.98), P1xP2xP3 0.725 (0.95)
# Grad-CAM's maps scored lower at every level and in every product (shapes segmentation P1xP2xP3 0.239).
# A single level on its own: on a tiny classifier trained to find a bright 8 px square in 32 px noise
# (tests/shared/test_explain.py), the peak fell on the square for 20 test images in 100% of cases
# with LayerCAM at 16 cells (P1), 80% at 8 cells, 25% at 4; Grad-CAM: 95%, 60%, 35%.
MIN_CELLS = 8
MIN_FUSED = 3
BOX_ANCHORS = 10  # anchors behind one explained box
EAGER_PIXELS = 64 * 128 * 128  # input pixels of one eager call (shapes segmenter: about 2.2 GB of memory)
EAGER_MAX_BATCH = 128
EAGER_CALLS = 2
TRACED_BATCH = 16


def default_levels(levels, size):
    """The levels fused by default for a model of input `size` (see `MIN_CELLS`)."""
    deepest = max((i for i, name in enumerate(levels) if size // 2 ** int(name[1:]) >= MIN_CELLS), default=0)
    return tuple(levels[:max(deepest + 1, MIN_FUSED)])


class Explainer:
    """Heat maps for `model` at one pyramid level, or the product of several.

    Args:
        model: a task model with a `backbone` and an `image_size`.
        level: a pyramid level name ("P3"...), or a tuple of them whose maps are multiplied;
            default: `default_levels`.
        method: "layercam" (default) or "gradcam".
    """

    def __init__(self, model, level=None, method="layercam"):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        backbone = model.backbone
        chosen = level or default_levels(backbone.pyramid_levels, model.image_size)
        unknown = [name for name in ((chosen,) if isinstance(chosen, str) else chosen)
                   if name not in backbone.pyramid_levels]
        if unknown:
            fail(f"The backbone {backbone.name} has no pyramid level {', '.join(unknown)}",
                 f"Explain at levels among {', '.join(backbone.pyramid_levels)}", levels=list(unknown))
        self.levels = (chosen,) if isinstance(chosen, str) else tuple(sorted(chosen, key=lambda n: int(n[1:])))
        self.level = "x".join(self.levels)  # for captions: "P1xP2xP3"
        # The backbone's outputs as the task model's graph sees them (it is called once there). Every
        # level comes out of the one pass: the chosen ones are explained, all of them can be shown.
        self.pyramid = graph_outputs(backbone)
        self.pyramid_levels = tuple(backbone.pyramid_levels)
        self.wired = keras.Model(model.inputs, [[self.pyramid[name] for name in self.pyramid_levels], model.outputs])
        self.model, self.method, self._compiled = model, method, {}
        self.letterboxed = model.sizing == "letterbox"

    def describe(self):
        """The method in words, e.g. "LayerCAM at P1, P2 and P3, multiplied"."""
        name = {"layercam": "LayerCAM", "gradcam": "Grad-CAM"}[self.method]
        if len(self.levels) == 1:
            return f"{name} at {self.levels[0]}"
        return f"{name} at {', '.join(self.levels[:-1])} and {self.levels[-1]}, multiplied"

    def maps(self, inputs, target):
        """Heat maps `[B, h, w]` in 0..1 at the finest chosen level's resolution, and the target scores `[B]`.

        Args:
            inputs: float32 `[B, S, S, 3]` at the model's size, 0..255.
            target: a `Target` (`class_score`, `region_score`), or a list of one per image
                (all of one kind).
        """
        cam, scores, _ = self._run(inputs, target)
        return cam.numpy(), scores.numpy()

    def _run(self, inputs, target, eager=False):
        """`maps` as tensors, with every pyramid level's feature maps of the pass (a list, shallow first);
        `eager` runs the pass without tracing a graph (see `batching`)."""
        targets = target if isinstance(target, (list, tuple)) else [target] * len(inputs)
        kind = targets[0].kind
        boxes = [t.box if t.box is not None else (0.0, 0.0, 0.0, 0.0) for t in targets]
        arguments = (tf.convert_to_tensor(inputs, tf.float32), tf.constant([t.class_id for t in targets], tf.int32),
                     tf.constant(boxes, tf.float32))
        if not eager:
            return self._function(kind)(*arguments)
        with _input_gradients_only():
            return self._score_cam(kind, *arguments)

    def _score_cam(self, kind, images, class_ids, boxes):
        score = self._box_score if kind == "box" else SCORES[kind]
        return self._cam(images, lambda outputs: score(outputs, class_ids, boxes))

    def _function(self, kind):
        """The traced gradient function of `kind` (one per kind; class ids and boxes are its inputs)."""
        if kind not in self._compiled:
            self._compiled[kind] = tf.function(  # plain Python control flow: nothing for autograph to convert
                lambda images, class_ids, boxes: self._score_cam(kind, images, class_ids, boxes), reduce_retracing=True,
                autograph=False)
        return self._compiled[kind]

    def batching(self, count):
        """`(images per call, eager)` for explaining `count` images of one kind.

        Tracing the gradient graph costs seconds (shapes detector at 128 px: 2.3 s, and about 0.9 s
        more at its first call), then a batch of 16 runs in 0.27 s; run without a graph, a pass costs
        no tracing but runs each operation on its own, unfused (a batch of 64: 2.5 s against about
        1.1 s traced). So up to
        `EAGER_CALLS` calls of at most `EAGER_PIXELS` input pixels run eagerly, in equal parts, and
        more work traces the graph once and runs it in batches of `TRACED_BATCH` (padded to that
        shape, so that it is traced once).
        """
        size = self.model.image_size
        per_call = max(1, min(EAGER_MAX_BATCH, EAGER_PIXELS // (size * size)))
        calls = -(-count // per_call)
        if calls <= EAGER_CALLS:
            return -(-count // max(calls, 1)), True
        return TRACED_BATCH, False

    def _box_score(self, raw, class_ids, boxes):
        """Detection: the detector's own score of a box (`box_score` of the task model)."""
        return self.model.box_score(raw, class_ids, boxes, BOX_ANCHORS)

    def images(self, images, targets, magnify=None, levels_of=None):
        """Heat maps of uint8 `[H, W, 3]` images, each at its own size, one target each (batched by kind,
        see `batching`); `magnify` (a list of one integer per image) returns them that many times
        larger, for display.

        With `levels_of` (an image's index) returns `(heats, levels)`, `levels` the feature maps
        `{level name: [h, w, C]}` of that image as the task saw it, from the same pass.
        """
        heats, levels = [None] * len(images), None
        for kind in sorted({t.kind for t in targets}):
            chosen = [i for i, t in enumerate(targets) if t.kind == kind]
            batch, eager = self.batching(len(chosen))
            for start in range(0, len(chosen), batch):
                part = chosen[start:start + batch]
                prepared = self._prepare_many([images[i] for i in part])
                inputs = tf.concat([p[0] for p in prepared], 0)
                padding = 0 if eager else batch - len(part)
                inputs = tf.pad(inputs, [[0, padding], [0, 0], [0, 0], [0, 0]])
                chosen_targets = [dataclasses.replace(targets[i], box=_scaled(targets[i].box, p[1]))
                                  for i, p in zip(part, prepared)]
                cams, _, features = self._run(inputs, chosen_targets + [chosen_targets[0]] * padding, eager)
                if levels_of in part:
                    at = part.index(levels_of)
                    levels = {name: feature[at].numpy() for name, feature in zip(self.pyramid_levels, features)}
                for i, cam, (_, scale) in zip(part, cams.numpy(), prepared):
                    factor = magnify[i] if magnify else 1
                    heats[i] = self._back_to_image(cam, images[i].shape[:2], scale, factor)
        return heats if levels_of is None else (heats, levels)

    def _prepare_many(self, images):
        """`prepare` of each image, resizing those of one shape together (one resize op per shape,
        not per image)."""
        prepared, by_shape = [None] * len(images), {}
        for i, image in enumerate(images):
            by_shape.setdefault(image.shape, []).append(i)
        for indices in by_shape.values():
            inputs, scale = self.prepare(np.stack([images[i] for i in indices]))
            for row, i in enumerate(indices):
                prepared[i] = (inputs[row:row + 1], scale)
        return prepared

    def prepare(self, image):
        """`(inputs [1, S, S, 3], scale)` of an `[H, W, 3]` image (or `[B, S, S, 3]` of a batch of one
        shape): letterboxed for a model sized so (scale: image to input pixels), else resized."""
        batch = tf.constant(image if image.ndim == 4 else image[None])
        if self.letterboxed:
            inputs, scale = letterbox(batch, self.model.image_size)
            return inputs, float(scale)
        return resize_images(batch, self.model.image_size), None

    def _back_to_image(self, cam, shape, scale, factor=1):
        """A level-resolution map back to the image's own `shape` times `factor` (cutting a letterbox's
        padding first)."""
        if scale is not None:
            cells = cam.shape[0] / self.model.image_size
            cam = cam[:max(1, int(np.ceil(shape[0] * scale * cells))), :max(1, int(np.ceil(shape[1] * scale * cells)))]
        heat = tf.image.resize(cam[None, ..., None], [n * factor for n in shape], method="bilinear")[0, ..., 0]
        return np.clip(heat.numpy(), 0.0, 1.0)

    def _cam(self, inputs, score):
        # Only the input is watched, not the weights, so that no weight gradient is asked for (see
        # `_input_gradients_only`); every level is still reached from the input.
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(inputs)
            every, outputs = self.wired(inputs, training=False)
            outputs = outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs
            scores = score(outputs)
        features = [every[self.pyramid_levels.index(name)] for name in self.levels]
        gradients = tape.gradient(scores, features)
        finest = tf.shape(features[0])[1:3]
        cam = tf.ones(tf.shape(features[0])[:3])
        for feature, gradient in zip(features, gradients):
            if gradient is None:  # a level the explained score does not depend on adds nothing
                continue
            if self.method == "gradcam":
                weights = tf.reduce_mean(gradient, axis=[1, 2], keepdims=True)
            else:
                weights = tf.nn.relu(gradient)
            level = _unit_peak(tf.nn.relu(tf.reduce_sum(weights * feature, axis=-1)))
            level = tf.image.resize(level[..., None], finest, method="bilinear")[..., 0]
            cam = cam * level
        return _unit_peak(cam), scores, every

    def shown(self, heat):
        """`heat` as the overlays show it: the product of the levels' maps to the power one over their
        count (their geometric mean). Same peak, same order of places; the product alone is so peaked
        that the overlays showed little more than a dot (the pointing game scores the product)."""
        return np.power(np.clip(heat, 0.0, 1.0), 1.0 / len(self.levels))

    def overlay(self, image, heat):
        """`image` with `heat` (one of `images`' maps at its size) over it, as the overlays show it (`shown`)."""
        return heat_overlay(image, self.shown(heat))

    def write(self, folder, source, image, heat, what):
        """Write `overlay(image, heat)` as `folder/<stem>_why_<what>.png`; returns the path."""
        import os

        from PIL import Image


        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(what))
        path = os.path.join(folder, f"{os.path.splitext(os.path.basename(source))[0]}_why_{safe}.png")
        write_bytes(path, png_bytes(Image.fromarray(self.overlay(image, heat))))
        return path

    def image(self, image, target):
        """The heat map of one uint8 `[H, W, 3]` image at its own size, float32 0..1."""
        return self.images([image], [target])[0]


@contextlib.contextmanager
def _input_gradients_only():
    """Run without a graph, TensorFlow's gradient of a convolution computes the kernel's gradient too,
    even when nothing asks for it (a graph prunes it); a heat map needs the inputs' only. For the
    block, Conv2D's registered gradient skips the kernel's where the tape marks it unneeded. Measured
    on the shapes segmenter, 40 images at 128 px: a pass 0.85 s instead of 1.07 s, the same maps."""
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", {}).get("Conv2D")
    if registry is None:  # another TensorFlow's internals: the plain gradient, a little slower
        yield
        return
    full = registry["type"]

    def lean(op, grad):
        if 1 not in (getattr(op, "skip_input_indices", None) or ()):
            return full(op, grad)
        attributes = {name: op.get_attr(name) for name in ("dilations", "strides", "padding", "explicit_paddings",
                                                           "use_cudnn_on_gpu", "data_format")}
        return [gen_nn_ops.conv2d_backprop_input(tf.shape(op.inputs[0]), op.inputs[1], grad, **attributes), None]

    registry["type"] = lean
    try:
        yield
    finally:
        registry["type"] = full


def _unit_peak(cam):
    """Each map of `[B, h, w]` divided by its own maximum (all-zero maps stay zero)."""
    return cam / tf.maximum(tf.reduce_max(cam, axis=[1, 2], keepdims=True), 1e-12)


@dataclasses.dataclass(frozen=True)
class Target:
    """What to explain: `kind` ("class", "region" or "box") of the class `class_id`; for "box",
    `box` is `(x1, y1, x2, y2)` in the image's own pixels."""

    kind: str
    class_id: int
    box: tuple = None


def box_score(class_id, box):
    """Target: a detector's score for class `class_id` at `box` (xyxy, the image's own pixels), from the
    anchors whose boxes overlap it most (`BOX_ANCHORS` of them, weighted by overlap and score)."""
    return Target("box", int(class_id), tuple(float(v) for v in box))


def _scaled(box, scale):
    return None if box is None else tuple(v * scale for v in box)


def class_score(class_id):
    """Target: the class's logit (centred: its log-probability less the mean over classes), per image."""
    return Target("class", int(class_id))


def region_score(class_id):
    """Target: the mean centred logit of `class_id` over the pixels the segmenter gives it (over the
    whole image when it gives it none)."""
    return Target("region", int(class_id))


def _logit(probabilities, class_ids):
    """The softmax's input for `class_ids` up to a per-pixel constant, recovered from the probabilities:
    log p_k - mean_j log p_j. Grad-CAM explains the pre-softmax score; the log-probability saturates
    where the model is sure, leaving the gradient to its least sure pixels. (On the default shapes
    segmentation the share of heat on the region rose from 0.25 to 0.34, LayerCAM at P3.)"""
    logs = tf.math.log(probabilities + 1e-7)
    return tf.gather(logs, class_ids, axis=-1, batch_dims=1) - tf.reduce_mean(logs, -1)


def _class(probabilities, class_ids, boxes=None):
    return _logit(probabilities, class_ids)


def _region(probabilities, class_ids, boxes=None):
    chosen = _logit(probabilities, class_ids)
    mask = tf.cast(tf.argmax(probabilities, -1, output_type=tf.int32) == class_ids[:, None, None], tf.float32)
    mask = tf.where(tf.reduce_sum(mask, axis=[1, 2], keepdims=True) > 0, mask, tf.ones_like(mask))
    return tf.reduce_sum(chosen * mask, axis=[1, 2]) / tf.reduce_sum(mask, axis=[1, 2])


SCORES = {"class": _class, "region": _region}


def heat_overlay(image, heat, alpha=0.75):
    """`image` with `heat` (0..1, same height and width) painted over it in the "turbo" colour map
    (blue: little part in the decision; red: the most). The paint's opacity grows with the square
    root of the heat, so that cold places keep the image visible and weak heat still shows."""
    from matplotlib import colormaps

    heat = np.clip(np.asarray(heat, np.float32), 0.0, 1.0)
    colour = colormaps["turbo"](heat)[..., :3] * 255.0
    weight = (alpha * np.sqrt(heat))[..., None]
    return (image.astype(np.float32) * (1.0 - weight) + colour * weight).clip(0, 255).astype(np.uint8)


def pointing(heat, region):
    """`(mass inside, peak inside, area)`: the share of the heat inside the bool `region`, whether the
    hottest pixel falls in it (the classic pointing game's hit), and the share of the image the region
    covers (what a uniform heat map would score)."""
    region = np.asarray(region, bool)
    peak = np.unravel_index(int(np.argmax(heat)), np.shape(heat))
    return mass_inside(heat, region), bool(region[peak]), float(region.mean())


def mass_inside(heat, region):
    """The share of the heat map's total that falls inside the bool `region` (the "pointing game" mass)."""
    heat = np.asarray(heat, np.float64)
    total = heat.sum()
    return float(heat[np.asarray(region, bool)].sum() / total) if total > 0 else 0.0


def one_per_image(options):
    """For a pointing game of one heat map per image (a pass each): `options` holds, per image, its
    `(class, payload)` choices (its true classes or boxes); returns `(image index, payload)` for each
    image that has any, choosing the class with the fewest heat maps so far (the lower id on a tie,
    the first of its payloads), so that the classes are explained about equally often."""
    counts, chosen = {}, []
    for i, choices in enumerate(options):
        if choices:
            k, payload = min(choices, key=lambda choice: (counts.get(choice[0], 0), choice[0]))
            counts[k] = counts.get(k, 0) + 1
            chosen.append((i, payload))
    return chosen


def explainer_for(path):
    """An `Explainer` for the run folder at `path` (its best checkpoint); exports are refused."""

    if model_kind(path) != "run":
        fail(f"{path} is an export: a SavedModel holds no gradients, so its decisions cannot be explained",
             "Pass the run folder the export was made from with --explain", model=path)
    return Explainer(load_run_model(open_run(path)))
