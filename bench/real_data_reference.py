"""The references of bench/real_data.py: what a competent Keras user writes without Trident.

Each trains in the same budget on the same train split as Trident's default run (the split is
re-derived with the same seed and fractions, and checked against the run's recorded
fingerprint) and is scored on the same images. Two kinds:

- pretrained (the default): the same ImageNet weights Trident fine-tunes (EfficientNet-Lite0,
  converted from its package), in the plain Keras recipes: for classification the Keras
  transfer-learning guide's two phases (the frozen network with a new head, then everything at
  a rate of 1e-5, batch norm kept in inference mode); for detection keras-cv's YOLOV8 detector
  and for segmentation keras-cv's DeepLabV3Plus, each on that backbone.
- scratch (`--scratch-reference`): a textbook CNN and MobileNetV3Small for classification,
  keras-cv's YOLOV8 xs and DeepLabV3Plus on a small ResNetV2, all from random weights.
"""


import json
import os


def _same_splits(load, data, info):
    splits, again = load(data)
    if again["fingerprint"] != info["fingerprint"]:
        raise SystemExit(f"The split of {data} differs from the run's; the comparison would not be fair")
    return splits


def pretrained_backbone():
    """EfficientNet-Lite0 with its ImageNet weights, marked with the layer names keras-cv's models tap."""
    from shared.backbones import build_backbone

    backbone = build_backbone("efficientnet_lite0", weights="imagenet")
    backbone.pyramid_level_inputs = {level: tensor._keras_history.operation.name
                                     for level, tensor in backbone.pyramid_outputs.items()}
    return backbone


def textbook_cnn(size, classes):
    """Three conv-pool stages and a dense head, as in the Keras tutorials."""
    import keras

    layers = keras.layers
    return keras.Sequential([
        keras.Input((size, size, 3)), layers.Rescaling(1 / 255.0),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Conv2D(128, 3, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(128, activation="relu"),
        layers.Dense(classes, activation="softmax")])


def mobilenet(size, classes):
    import keras

    return keras.applications.MobileNetV3Small(input_shape=(size, size, 3), weights=None, classes=classes,
                                               include_preprocessing=True)


def transfer_guide(size, classes, splits, budget, split):
    """The Keras guide's recipe: train a new head on the frozen network for half the budget, then fine-tune
    everything at 1e-5 for the other half, batch norm kept in inference mode throughout.

    The guide keeps batch norm in inference mode by calling the base with `training=False`, but in
    Keras 3 `fit` overrides that argument (keras-team/keras#20285): unfrozen, the batch-norm layers
    switch to batch statistics and the head trained on the frozen features stops fitting (weather4:
    0.667 test accuracy). Frozen batch-norm layers (`trainable=False`) run in inference mode, which is
    what the guide means, so they stay frozen here."""
    import keras

    from shared.engine.callbacks import TimeBudget
    from shared.data.pipeline import image_dataset

    base = pretrained_backbone()
    base.trainable = False
    inputs = keras.Input((size, size, 3))
    features = base(inputs, training=False)["P5"]
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))
    train = image_dataset(splits["train"], size, 32, training=True)
    for rate, trainable in ((1e-3, False), (1e-5, True)):
        base.trainable = trainable
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(train, epochs=1000, verbose=2, callbacks=[TimeBudget(budget / 2)])
    return answers(model, splits[split], size)


def answers(model, part, size):
    """`(accuracy, {image path: right})` of `model` on `part`, for a paired comparison with Trident's run."""
    import numpy as np

    from shared.data.pipeline import image_dataset

    predicted = model.predict(image_dataset(part, size, 32), verbose=0).argmax(-1)
    right = predicted == np.asarray(part.labels)
    return float(right.mean()), {str(path): bool(r) for path, r in zip(part.paths, right)}


def classification_reference(data, info, budget, size, pretrained=True, seed=0):
    import keras

    from shared.engine.callbacks import TimeBudget
    from shared.data.classification import load_classification_data
    from shared.data.pipeline import image_dataset
    from shared.engine.training import set_seed

    splits = _same_splits(lambda d: load_classification_data(d, 0, 0.1, 0.2), data, info)
    split = "test" if len(splits["test"]) else "val"
    classes = len(splits["train"].class_names)
    if pretrained:
        set_seed(seed)
        accuracy, right = transfer_guide(size, classes, splits, budget, split)
        print(f"reference EfficientNet-Lite0 (ImageNet), Keras transfer-learning guide: accuracy {accuracy:.4f}")
        return {"model": f"EfficientNet-Lite0 ImageNet, Keras guide's fine-tune at {size} px",
                "metric": float(accuracy), "seed": seed, "right": right}
    best = None
    for name, build in (("textbook CNN", textbook_cnn), ("MobileNetV3Small", mobilenet)):
        set_seed(0)
        model = build(size, classes)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(image_dataset(splits["train"], size, 32, training=True), epochs=1000, verbose=2,
                  callbacks=[TimeBudget(budget)])
        _, accuracy = model.evaluate(image_dataset(splits[split], size, 32), verbose=0)
        print(f"reference {name}: accuracy {accuracy:.4f}")
        if best is None or accuracy > best["metric"]:
            best = {"model": f"{name} at {size} px", "metric": float(accuracy)}
    return best


def detection_reference(data, info, budget, pretrained=True):
    from bench.keras_cv_models import yolov8_detector
    from shared.data.detection import load_detection_data

    splits = _same_splits(lambda d: load_detection_data(d, 0), data, info)
    coco, images_per_second, _, params, epochs = yolov8_detector(
        splits, budget, backbone=pretrained_backbone() if pretrained else None)
    model = "keras-cv YOLOV8 on EfficientNet-Lite0 (ImageNet)" if pretrained else "keras-cv YOLOV8 xs"
    return {"model": f"{model} at 320 px", "metric": coco["AP50"], "AP": coco["AP"],
            "images_per_second": images_per_second, "epochs": epochs}


def segmentation_reference(data, info, budget, size, pretrained=True):
    from bench.keras_cv_models import deeplab_segmenter
    from shared.data.segmentation import load_segmentation_data

    splits = _same_splits(lambda d: load_segmentation_data(d, 0), data, info)
    scores, images_per_second, _ = deeplab_segmenter(splits, budget, size=size, batch=8,
                                                     backbone=pretrained_backbone() if pretrained else None)
    model = "keras-cv DeepLabV3Plus on EfficientNet-Lite0 (ImageNet)" if pretrained else "keras-cv DeepLabV3Plus"
    return {"model": f"{model} at {size} px", "metric": scores["mean_iou"],
            "images_per_second": images_per_second}


def instance_reference(data, info, budget, size, yolo_python):
    """Ultralytics YOLO26n-seg from scratch (there are no weights to fetch here) in its own Python
    (`yolo_python`, see bench/_ultralytics_seg_child.py), on the same splits, scored by pycocotools on
    the same test images as Trident's report."""
    import subprocess
    import tempfile

    import numpy as np
    from PIL import Image

    from shared.detector.metrics import coco_evaluate, coco_ground_truth, coco_results
    from tasks.instance.data import load_instance_data
    from tasks.instance.evaluate import truth_masks
    from tasks.instance.masks import encode

    if not yolo_python:
        raise SystemExit("The instance reference needs --yolo-python (a Python with ultralytics installed)")
    splits = _same_splits(lambda d: load_instance_data(d, 0), data, info)
    work = tempfile.mkdtemp(prefix="trident-yolo-seg-")
    listed = {}
    for name, part in splits.items():
        listed[name] = []
        for i in range(len(part)):
            ids_path = os.path.join(work, f"{name}-{i}.png")
            Image.fromarray(part.masks[i].id_map().astype(np.uint16)).save(ids_path)
            listed[name].append([part.paths[i], ids_path, [int(c) for c in part.labels[i]]])
    spec = {"splits": listed, "names": splits["train"].class_names, "budget_seconds": budget, "image_size": size,
            "out": os.path.join(work, "yolo")}
    with open(os.path.join(work, "spec.json"), "w") as f:
        json.dump(spec, f)
    child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ultralytics_seg_child.py")
    done = subprocess.run([yolo_python, child, os.path.join(work, "spec.json")], check=True, capture_output=True,
                          text=True)
    trained = json.loads(done.stdout.strip().splitlines()[-1])
    test = splits["test"]
    detections, masks = [], []
    for i in range(len(test)):
        answer = np.load(os.path.join(spec["out"], "answers", f"{i}.npz"))
        shape = answer["shape"]
        found = np.unpackbits(answer["masks"], axis=-1, count=int(shape[-1]))[:, :, :].astype(bool)
        detections.append((answer["boxes"], answer["scores"], answer["classes"].astype(np.int64)))
        masks.append([encode(m) for m in found])
    truth = coco_ground_truth(test.boxes, test.labels, test.sizes, test.class_names, truth_masks(test))
    results = coco_results(detections, masks)
    segm, bbox = coco_evaluate(truth, results, "segm"), coco_evaluate(truth, results, "bbox")
    return {"model": f"Ultralytics YOLO26n-seg from scratch at {size} px", "metric": segm["AP50"],
            "metric2": segm["AP"], "box_AP": bbox["AP"], **trained}


def reference(task, data, info, budget, pretrained=True, yolo_python=None, seed=0):
    size = info["defaults"].get("image_size", {}).get("value") or (320 if task == "detection" else 128)
    if task == "instance":
        return instance_reference(data, info, budget, size, yolo_python)
    if task == "classification":
        return classification_reference(data, info, budget, size, pretrained, seed)
    if task == "detection":
        return detection_reference(data, info, budget, pretrained)
    return segmentation_reference(data, info, budget, size, pretrained)

