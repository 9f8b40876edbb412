"""End-to-end instance segmentation, the one function `predict`, `evaluate` and the export all run."""

import tensorflow as tf

from shared.data.letterbox import letterbox
from tasks.instance.model import box_mask

def make_segment(model, score_threshold=None, iou_threshold=None, max_detections=None, multi_label=False):
    """`segment_with` a decoder built from the model's NMS settings and the ones given here."""
    decoder = model.decoder(score_threshold=score_threshold, iou_threshold=iou_threshold,
                            max_detections=max_detections, multi_label=multi_label)
    return segment_with(model, decoder)


def segment_with(model, decoder):
    """`segment(images uint8 [B, H, W, 3]) -> dict`, everything in the images' own pixels.

    Outputs: `boxes [B, M, 4]` xyxy, `scores [B, M]`, `classes [B, M]` (-1 where empty),
    `num_detections [B]`, and `masks uint8 [B, N, H, W]` (1 = the object), N the most detections
    of an image of the batch (for a graph of fixed image size, as TFLite and ONNX take: M, the
    empty slots all zero): each detection's prototype combination, cut from the letterbox,
    scaled up to the image (bilinear, before the threshold, as YOLACT does), cropped to its box
    and thresholded at 0.5.
    """

    def segment(images):
        shape = tf.shape(images)
        height, width = shape[1], shape[2]
        fheight, fwidth = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
        inputs, scale = letterbox(images, model.image_size)
        raw = model(inputs, training=False)
        out = decoder(model.head_output(raw))
        boxes = out["boxes"] / scale
        boxes = tf.stack([tf.clip_by_value(boxes[..., 0], 0.0, fwidth), tf.clip_by_value(boxes[..., 1], 0.0, fheight),
                          tf.clip_by_value(boxes[..., 2], 0.0, fwidth), tf.clip_by_value(boxes[..., 3], 0.0, fheight)],
                         axis=-1)
        found = out["classes"] >= 0
        boxes = tf.where(found[..., None], boxes, 0.0)
        used = tf.reduce_max(out["num_detections"])
        if images.shape[1] is not None and images.shape[2] is not None:
            # A graph for one image size (TFLite, ONNX): every slot gets a mask, a shape fixed in advance.
            count = decoder.max_detections
        else:
            count = used
        logits = model.mask_logits(raw, out["anchors"][:, :count])  # [B, N, h, w] on the letterboxed grid
        masks = _chunked(logits, boxes[:, :count], found[:, :count], scale, model.mask_stride, height, width, used)
        return {"boxes": boxes, "scores": out["scores"], "classes": out["classes"],
                "num_detections": out["num_detections"], "masks": masks}

    return segment


CHUNK = 16  # masks brought to the image's size at a time: the float work stays CHUNK images large


def _chunked(logits, boxes, found, scale, stride, height, width, used):
    """`_masks` of CHUNK detections at a time, one chunk after the other (a photo with hundreds of objects
    would otherwise hold hundreds of float images at once); `uint8 [B, N, H, W]`. Chunks past the first
    `used` detections are zeros, not computed."""
    batch, count = tf.shape(logits)[0], logits.shape[1] or tf.shape(logits)[1]  # a fixed count stays a number
    chunks = (count + CHUNK - 1) // CHUNK
    if not isinstance(chunks, int):  # at least one (empty) chunk: a loop over none has nothing to stack
        chunks = tf.maximum(chunks, 1)
    pad = chunks * CHUNK - count
    logits = tf.pad(logits, [[0, 0], [0, pad], [0, 0], [0, 0]])
    boxes = tf.pad(boxes, [[0, 0], [0, pad], [0, 0]])
    found = tf.pad(found, [[0, 0], [0, pad]])

    def one(i):
        part = slice(i * CHUNK, (i + 1) * CHUNK)
        return _masks(logits[:, part], boxes[:, part], found[:, part], scale, stride, height, width)

    if isinstance(chunks, int):  # a fixed count (TFLite, ONNX): the chunks written out, no loop to convert
        empty = tf.zeros([batch, CHUNK, height, width], tf.uint8)
        parts = [(logits[:, i * CHUNK:(i + 1) * CHUNK], boxes[:, i * CHUNK:(i + 1) * CHUNK],
                  found[:, i * CHUNK:(i + 1) * CHUNK]) for i in range(chunks)]  # sliced outside the branches
        return tf.concat([tf.cond(i * CHUNK < used, lambda p=p: _masks(*p, scale, stride, height, width),
                                  lambda: empty) for i, p in enumerate(parts)], axis=1)[:, :count]
    parts = tf.map_fn(one, tf.range(chunks), fn_output_signature=tf.TensorSpec([None, CHUNK, None, None], tf.uint8),
                      parallel_iterations=1)
    masks = tf.reshape(tf.transpose(parts, [1, 0, 2, 3, 4]), [batch, chunks * CHUNK, height, width])
    return masks[:, :count]


def _masks(logits, boxes, found, scale, stride, height, width):
    """`uint8 [B, N, H, W]`: the logits brought to the image (`_to_image`), inside each box, above 0 (the
    probability 0.5), for found detections only."""
    inside = box_mask(boxes, height, width) > 0
    found = tf.expand_dims(tf.expand_dims(found, -1), -1)
    return tf.cast((_to_image(logits, scale, stride, height, width) > 0.0) & inside & found, tf.uint8)


def _to_image(logits, scale, stride, height, width):
    """`[B, N, h, w]` letterboxed-grid logits to `[B, N, H, W]` image pixels: the cells the image covers,
    resized so that a cell spans `stride / scale` pixels, cut to the image."""
    cells = tf.cast(scale, tf.float32) / stride  # cells per image pixel
    rows = tf.minimum(tf.cast(tf.math.ceil(tf.cast(height, tf.float32) * cells), tf.int32), tf.shape(logits)[2])
    cols = tf.minimum(tf.cast(tf.math.ceil(tf.cast(width, tf.float32) * cells), tf.int32), tf.shape(logits)[3])
    # tf.slice, not [] slicing: the ops here also run inside TFLite's and ONNX's conditional branches
    part = tf.transpose(tf.slice(logits, [0, 0, 0, 0], tf.stack([-1, -1, rows, cols])), [0, 2, 3, 1])
    target = tf.cast(tf.round(tf.cast(tf.stack([rows, cols]), tf.float32) / cells), tf.int32)
    resized = tf.image.resize(part, tf.maximum(target, tf.stack([height, width])), method="bilinear")
    return tf.transpose(tf.slice(resized, [0, 0, 0, 0], tf.stack([-1, height, width, -1])), [0, 3, 1, 2])
