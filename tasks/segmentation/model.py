"""`SemanticSegmenter`: per-pixel class probabilities at the input's own size, for any size."""

import keras

from shared.backbones.base import task_input
from shared.layers.aspp import aspp
from shared.layers.conv import conv_bn_act, separable_bn_act
from shared.layers.neck import pan_neck
from shared.layers.resize import ResizeLike, SubpixelLike
from shared.task_model import TaskModel
from tasks.segmentation.losses import SegmentationLoss
from tasks.segmentation.metrics import MeanIoU


@keras.saving.register_keras_serializable(package="trident")
class SemanticSegmenter(TaskModel):
    """Segment `float32 [B, H, W, 3]` images (0..255, any size) into `num_classes` classes.

    Args:
        backbone: `Backbone`.
        num_classes: int (background included when the data has one).
        image_size: int, the square size training used; export and evaluation resize to it.
        class_names: list of str; colours: list of (r, g, b).
        head: str, `"deeplabv3plus"` (ASPP on the stride-16 level with image pooling from
            the deepest, skip from stride 4)
            or `"fpn"` (top-down pyramid, levels summed at stride 4).
        width: int, channels of the head.
        aspp_rates: list of int, ASPP dilation rates.
        subpixel: bool, add to the bilinearly upsampled logits a sub-pixel term (a 1x1
            convolution giving every pixel of each decoder cell its own logits, zero at the
            start), so corners and thin tips need not be rounded off by the upsampling.

    Upsampling resizes to a reference tensor's run-time shape (no `UpSampling2D`), so
    training, evaluation and export all take any input size.
    """

    config_keys = ("num_classes", "image_size", "class_names", "colours", "head", "width", "aspp_rates", "subpixel")

    def __init__(self, backbone, num_classes, image_size, class_names=None, colours=None, head="deeplabv3plus",
                 width=96, aspp_rates=(1, 2, 3), subpixel=True, **kwargs):
        levels = backbone.pyramid_levels
        shallow = "P2" if "P2" in levels else levels[0]
        deep = "P4" if "P4" in levels else levels[-1]  # output stride 16, as in the paper
        context = levels[-1] if levels[-1] != deep else None  # image-level pooling from the deepest level

        # === Functional model ===
        inputs, pixels = task_input(backbone)
        pyramid = backbone(pixels)
        if head == "deeplabv3plus":
            x = aspp(pyramid[deep], width, aspp_rates, context=pyramid[context] if context else None)
            skip = conv_bn_act(pyramid[shallow], 48, 1, 1, "relu", name="skip_proj")
            x = ResizeLike("bilinear", name="decoder_up")([x, skip])
            x = keras.layers.Concatenate(name="decoder_concat")([x, skip])
        elif head == "fpn":
            chosen = [level for level in levels if int(level[1:]) >= int(shallow[1:])]
            features = pan_neck([pyramid[level] for level in chosen], width, "relu", bottom_up=False, name="fpn")
            x = keras.layers.Add(name="fpn_sum")(
                [features[0]] + [ResizeLike("bilinear", name=f"fpn_merge_up{i}")([f, features[0]])
                                 for i, f in enumerate(features[1:], start=1)])
        else:
            raise ValueError(f"head must be 'deeplabv3plus' or 'fpn'. Received: head={head!r}")
        x = separable_bn_act(x, width, 3, 1, "relu", name="decoder_a")
        x = separable_bn_act(x, width, 3, 1, "relu", name="decoder_b")
        logits = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
        up = ResizeLike("bilinear", name="to_input_size")([logits, inputs])
        if subpixel:
            stride = 2 ** int(shallow[1:])  # the decoder runs at the shallow level's stride
            detail = keras.layers.Conv2D(num_classes * stride**2, 1, kernel_initializer="zeros",
                                         name="logits_detail")(x)
            detail = SubpixelLike(stride, name="detail_to_input_size")([detail, inputs])
            up = keras.layers.Add(name="logits_full")([up, detail])
        x = up
        outputs = keras.layers.Softmax(dtype="float32", name="probabilities")(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.image_size = image_size
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.colours = [list(c) for c in colours] if colours else [[0, 0, 0]] * num_classes
        self.head = head
        self.width = width
        self.aspp_rates = list(aspp_rates)
        self.subpixel = subpixel

    def compile_defaults(self):
        """AdamW, cross-entropy ignoring 255, mean IoU."""
        return {"optimizer": keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=1e-4),
                "loss": SegmentationLoss(self.num_classes), "metrics": [MeanIoU(self.num_classes, name="mean_iou")]}
