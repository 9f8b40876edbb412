"""`ImageClassifier`: backbone + pooling + optional hidden layers + softmax."""

import keras

from shared.backbones.base import task_input
from shared.task_model import TaskModel


@keras.saving.register_keras_serializable(package="trident")
class ImageClassifier(TaskModel):
    """Classify `float32 [B, S, S, C]` images in 0..255 into `num_classes` probabilities.

    Args:
        backbone: `Backbone`, its deepest pyramid level feeds the head.
        num_classes: int.
        image_size: int, the square input size the model is trained at; export
            resizes any image to it.
        class_names: list of str, kept with the model so every export knows them.
        pooling: str, `"avg"` (global average, any size) or `"flatten"` (classic heads).
        head_units: list of int, hidden dense layers before the output (LeNet-5: [84]).
        dropout: float, dropout before each dense layer.

    Example:
        model = ImageClassifier(build_backbone("lenet5"), 10, 32, head_units=[84])
        model.compile()
        model.fit(images, labels)
    """

    config_keys = ("num_classes", "image_size", "class_names", "pooling", "head_units", "dropout")

    def __init__(self, backbone, num_classes, image_size, class_names=None, pooling="avg",
                 head_units=(), dropout=0.0, **kwargs):
        # === Layers ===
        level = backbone.pyramid_levels[-1]
        pool = (keras.layers.GlobalAveragePooling2D(name="pool") if pooling == "avg"
                else keras.layers.Flatten(name="pool"))
        hidden = [keras.layers.Dense(units, activation="relu", name=f"hidden{i}") for i, units in enumerate(head_units)]
        output = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")

        # === Functional model ===
        inputs, pixels = task_input(backbone, image_size)
        x = pool(backbone(pixels)[level])
        for layer in hidden:
            if dropout:
                x = keras.layers.Dropout(dropout)(x)
            x = layer(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        super().__init__(inputs=inputs, outputs=output(x), **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.image_size = image_size
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.pooling = pooling
        self.head_units = list(head_units)
        self.dropout = dropout

    def compile_defaults(self):
        """AdamW, sparse cross-entropy, accuracy and (over five classes) top-5 accuracy."""
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.num_classes > 5:
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"))
        return {"optimizer": keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4),
                "loss": keras.losses.SparseCategoricalCrossentropy(), "metrics": metrics}


# Head defaults per backbone: the classics keep their own fully connected heads.
HEAD_DEFAULTS = {
    "lenet5": {"pooling": "flatten", "head_units": [84], "dropout": 0.0},
    "alexnet": {"pooling": "flatten", "head_units": [512, 512], "dropout": 0.5},
}


def head_settings(family, **head):
    """`pooling`, `head_units`, `dropout`: the values given, else the ones `family` is known for."""
    settings = {"pooling": "avg", "head_units": [], "dropout": 0.1}
    settings.update(HEAD_DEFAULTS.get(family, {}))
    settings.update({k: v for k, v in head.items() if v is not None})
    return settings


def build_classifier(backbone, num_classes, image_size, class_names, **head):
    """An `ImageClassifier` with the head the backbone's family is known for, unless given."""
    return ImageClassifier(backbone, num_classes, image_size, class_names=class_names,
                           **head_settings(backbone.family, **head))

