"""keras-cv's detector and segmenter trained in a wall-clock budget: the references of `bench.real_data`.

Each is trained as a competent keras-cv user would, on the same training split, input pipeline
and augmentation as Trident's default, with the same schedule shape (warm-up then cosine over the
budget), and scored by the same code as Trident: pycocotools over every test image for the
detector; for the segmenter, probabilities resized to each image's own size and Trident's
confusion-matrix IoU.
"""

import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from shared.engine.callbacks import Throughput, TimeBudget, WarmupCosine
from shared.data.detection_pipeline import detection_dataset
from shared.data.preprocess import resize_images
from shared.data.segmentation_pipeline import segmentation_dataset
from shared.engine.training import set_seed
from shared.detector.metrics import coco_evaluate, coco_ground_truth, coco_results
from tasks.segmentation.metrics import confusion_matrix, scores_from_confusion

DETECTION_SIZE = 320
SEGMENTATION_SIZE = 256


def ms_per_image(model, image):
    """Median milliseconds of `model.predict` on one image, after three warm-up calls."""
    for _ in range(3):
        model.predict(image, verbose=0)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        model.predict(image, verbose=0)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def yolov8_detector(splits, budget, lr=1e-3, backbone=None, size=DETECTION_SIZE):
    """keras-cv's YOLOV8 detector trained in `budget` seconds: on its own xs backbone from scratch, or on
    `backbone` (a keras.Model with keras-cv's `pyramid_level_inputs`, e.g. a pretrained one).

    Returns `(COCO metrics on the test split, train images/s, inference ms/image, parameters, epochs)`."""
    import keras_cv

    set_seed(0)
    backbone = backbone or keras_cv.models.YOLOV8Backbone(stackwise_channels=[32, 64, 128, 256],
                                                          stackwise_depth=[1, 2, 2, 1], include_rescaling=True,
                                                          activation="swish")
    model = keras_cv.models.YOLOV8Detector(
        num_classes=len(splits["train"].class_names), bounding_box_format="xyxy", backbone=backbone, fpn_depth=1,
        prediction_decoder=keras_cv.layers.MultiClassNonMaxSuppression(
            bounding_box_format="xyxy", from_logits=False, confidence_threshold=0.001, iou_threshold=0.6,
            max_detections=100))
    model.compile(optimizer=keras.optimizers.Adam(lr, global_clipnorm=10.0), classification_loss="binary_crossentropy",
                  box_loss="ciou")
    to_kcv = lambda x, y: {"images": x, "bounding_boxes": {"boxes": y["boxes"],  # noqa: E731
                                                             "classes": keras.ops.cast(y["labels"], "float32")}}
    train_ds = detection_dataset(splits["train"], size, 16, training=True, augment=["flip", "crop", "color"]).map(
        to_kcv)
    steps = int(np.ceil(len(splits["train"]) / 16))
    meter = Throughput(len(splits["train"]))
    model.fit(train_ds, epochs=1000, verbose=2, callbacks=[
        WarmupCosine(lr, 1000, steps, 1.0, budget), TimeBudget(budget), meter])
    test = splits["test"]
    detections, index = [], 0
    for images, _ in detection_dataset(test, size, 8):
        out = model.predict(images, verbose=0)
        for b in range(len(out["num_detections"])):
            n = int(out["num_detections"][b])
            height, width = test.sizes[index]
            boxes = np.asarray(out["boxes"][b][:n]) / (size / max(height, width))
            boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
            boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
            detections.append((boxes, np.asarray(out["confidence"][b][:n]), np.asarray(out["classes"][b][:n])))
            index += 1
    coco = coco_evaluate(coco_ground_truth(test.boxes, test.labels, test.sizes, test.class_names),
                         coco_results(detections))
    speed = ms_per_image(model, np.zeros((1, size, size, 3), np.float32))
    return coco, meter.images_per_second(), speed, model.count_params(), len(meter.epoch_seconds)


def segmentation_scores(predict, test, size=SEGMENTATION_SIZE):
    """`size` px probabilities, resized to each image's size, arg-max, IoU: the same code for every model."""
    classes = len(test.class_names)
    total = np.zeros((classes, classes), np.int64)
    for i in range(len(test)):
        image, mask = test.image(i), test.mask(i)
        probabilities = predict(resize_images(image[None], size))
        probabilities = tf.image.resize(probabilities, image.shape[:2], method="bilinear")
        total += confusion_matrix(mask, tf.argmax(probabilities, -1)[0].numpy(), classes)
    return scores_from_confusion(total, test.class_names)


def deeplab_segmenter(splits, budget, lr=2e-3, size=SEGMENTATION_SIZE, batch=8, backbone=None):
    """keras-cv's DeepLabV3Plus trained in `budget` seconds: on a small ResNetV2 from scratch (narrowed to
    about Trident's backbone, a 96-channel ASPP), or on `backbone` (a keras.Model with keras-cv's
    `pyramid_level_inputs`, e.g. a pretrained one). Returns `(test scores, train images/s, parameters)`."""
    import keras_cv

    set_seed(0)
    backbone = backbone or keras_cv.models.ResNetV2Backbone(stackwise_filters=[24, 48, 96, 192],
                                                            stackwise_blocks=[2, 2, 2, 2],
                                                            stackwise_strides=[1, 2, 2, 2], include_rescaling=True)
    pyramid = keras_cv.layers.SpatialPyramidPooling(dilation_rates=[6, 12, 18], num_channels=96)
    model = keras_cv.models.DeepLabV3Plus(backbone=backbone, num_classes=len(splits["train"].class_names),
                                          spatial_pyramid_pooling=pyramid)
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy())
    train_ds = segmentation_dataset(splits["train"], size, batch, training=True, augment=["flip", "crop", "color"])
    steps = int(np.ceil(len(splits["train"]) / batch))
    meter = Throughput(len(splits["train"]))
    model.fit(train_ds, epochs=1000, verbose=2, callbacks=[WarmupCosine(lr, 1000, steps, 1.0, budget),
                                                          TimeBudget(budget), meter])
    return (segmentation_scores(lambda x: model(x, training=False), splits["test"], size), meter.images_per_second(),
            model.count_params())
