"""Image classification: one class per image.

--data: `digits` (built-in), a folder of class folders (or train/ val/ test/ such folders), a
CSV of `path,label` rows, or a dataset YAML with `train`, `val`, `test`.
"""

from shared.backbones.classic import as_drawn
from shared.config import fraction, positive_int
from shared.data.augment import parse_augment
from shared.data.builtin import BUILTIN
from shared.data.classification import load_classification_data
from shared.data.flip_probe import flip_probe
from shared.data.pipeline import image_dataset
from shared.engine.defaults import configured_backbone
from shared.settings import Setting
from shared.task import Task
from shared.engine.training import build_optimizer
from tasks.classification import benchmark, evaluate, export, predict, review, suggest
from tasks.classification.inference import make_classify
from tasks.classification.model import build_classifier, head_settings


class Classification(Task):
    name = "classification"
    builtins = tuple(BUILTIN)
    builtin_image_size = 32
    single_label = True
    coco_images = False
    # best.keras is the last epoch (unless --early-stopping is on): with the schedule decaying to a
    # low rate the final weights are settled, and picking an epoch on a small val split mostly
    # picks noise. weather4, five default runs: last epoch 0.907-0.920 test accuracy (mean 0.912),
    # the epoch chosen by val accuracy or val loss 0.840-0.907 (mean 0.888).
    keep = "last"
    # A one-epoch warm-up on small data is a handful of steps: 90 weather photos (12 steps of 8) reached the
    # peak rate in 12 steps and collapsed to one class for good (test accuracy 0.267); over 50 steps
    # (4.2 epochs) the same run reached 0.98 on val.
    min_warmup_steps = 50
    head_first_steps = 150
    size_rules = (32, 128, "short_side")
    # With ImageNet weights the network has learned its features at about 224 px: smaller images
    # are upsampled to this much at least.
    pretrained_size_rules = (128, 224, "short_side")
    counts_title = "Examples per class"
    compare_images = 8
    headline = "accuracy {accuracy:.4f} on {images} images"
    train_settings = (
        Setting("pooling", choices=("avg", "flatten"), help="head pooling (default per backbone)"),
        Setting("head_units", type=positive_int, nargs="*", help="hidden dense layers of the head"),
        Setting("dropout", type=fraction, help="dropout in the head"),
    )

    def read(self, data, seed=0, val_fraction=0.1, test_fraction=0.2, images=None, image_size=None,
             unsplit_as_test=False):
        return load_classification_data(data, seed, val_fraction, test_fraction, unsplit_as_test=unsplit_as_test)

    def item_labels(self, part, index):
        return [int(part.labels[index])]

    def flip_probe(self, splits, seed):
        return flip_probe(splits["train"], splits["val"], seed)

    def add_arguments(self, parser, action):
        if action == "evaluate":
            parser.add_argument("--batch-size", type=positive_int, default=32)
        elif action == "predict":
            predict.add_arguments(parser)

    def resolve(self, config):
        """The head settings the backbone implies."""
        head = {key: config[key] for key in ("pooling", "head_units", "dropout")}
        config.update(head_settings(config["backbone"], **head))

    def build_model(self, config, info):
        backbone = configured_backbone(config, **as_drawn(config["backbone"], config["image_size"]))
        model = build_classifier(backbone, len(info["class_names"]), config["image_size"], info["class_names"],
                                 pooling=config["pooling"], head_units=config["head_units"], dropout=config["dropout"])
        model.compile(optimizer=build_optimizer(config))
        return model

    def datasets(self, config, splits, info):
        train_ds = image_dataset(splits["train"], config["image_size"], config["batch_size"], training=True,
                                 seed=config["seed"], augment=parse_augment(config["augment"]))
        return train_ds, image_dataset(splits["val"], config["image_size"], config["batch_size"])

    def evaluate(self, run, data=None, images=None, split=None, output=None, loaded=None, explain=True,
                 batch_size=32):
        return evaluate.evaluate_run(self, run, data, split, output, batch_size, loaded, explain)

    def calibrate(self, model, part, config):
        return evaluate.calibrate(model, part, config["batch_size"])

    def scored(self, folder):
        return evaluate.scored(folder)

    label_tools = ("review", "suggest")
    prelabel_formats = ("folders", "csv")

    def review(self, run, options):
        return review.review(self, run, options)

    def suggest(self, run, paths, options):
        return suggest.suggest(self, run, paths, options)

    inference = staticmethod(make_classify)
    predictions = staticmethod(predict.predictions)
    export_run = staticmethod(export.export_run)
    benchmark_prepare = staticmethod(benchmark.prepare)
    benchmark_score = staticmethod(benchmark.score)
    benchmark_difference = staticmethod(export.probability_difference)


TASK = Classification()
