"""Object detection: a box and a class for every object.

--data: `shapes` (built-in), a COCO JSON (images beside it or in --images), a folder with
images/ + annotations/ (Pascal VOC XML) or images/ + labels/ (YOLO txt), such a folder with
train/ val/ test/, or a dataset YAML (`path`, `train`, `val`, `test`, `names`). Evaluation is
COCO AP from pycocotools; the export answers boxes in the input image's own pixels.
"""

from shared.config import positive_int
from shared.data.augment import BOX_ONLY, parse_augment
from shared.data.detection import load_detection_data
from shared.data.detection_write import FORMATS
from shared.data.detection_pipeline import detection_dataset
from shared.data.flip_probe import objects_flip_probe
from shared.detector.scored import scored_coco
from shared.detector.threshold import answer_threshold, fit_calibration
from shared.detector.head import add_nms_arguments
from shared.engine.defaults import configured_backbone
from shared.errors import fail
from shared.settings import Setting
from shared.task import Task
from shared.engine.training import build_optimizer
from tasks.detection import benchmark, evaluate, export, predict, review, suggest
from tasks.detection.inference import make_detect
from tasks.detection.inspect import box_sections
from tasks.detection.model import build_detector


class Detection(Task):
    name = "detection"
    builtins = ("shapes",)
    one_class_ok = True  # finding one kind of object is a task
    size_rules = (128, 320, "long_side")  # letterboxed: the long side sets the scale
    pretrained_size_rules = (128, 320, "long_side")
    compare_images = 6
    headline = "AP {AP:.4f}  AP50 {AP50:.4f}  AP75 {AP75:.4f}"
    train_settings = (
        Setting("width", 64, positive_int, help="channels of the neck and head"),
        Setting("head", "lean", choices=("lean", "full"),
                help="detection head: lean (under half the multiply-adds) or full"),
        Setting("max_boxes", 100, positive_int, help="objects per image kept for training"),
    )
    train_defaults = {"batch_size": 16, "lr": 2e-3, "weight_decay": 5e-4, "epochs": 30}

    def read(self, data, seed=0, val_fraction=0.1, test_fraction=0.2, images=None, image_size=None,
             unsplit_as_test=False):
        return load_detection_data(data, seed, val_fraction, test_fraction, images, image_size,
                                   unsplit_as_test=unsplit_as_test)

    def check(self, config):
        if config["image_size"] and config["image_size"] % 32:
            fail("Detection needs an image size that is a multiple of 32", "Use for example --image-size 320",
                 image_size=config["image_size"])

    def item_labels(self, part, index):
        return [int(c) for c in part.labels[index]]

    def inspect_sections(self, options):
        return self.item_labels, box_sections(options["max_boxes"])

    flip_probe = staticmethod(objects_flip_probe)

    def add_arguments(self, parser, action):
        if action == "inspect":
            parser.add_argument("--max-boxes", type=int, default=100, help="objects per image the model keeps")
        elif action == "predict":
            predict.add_arguments(parser)
        elif action == "export":
            add_nms_arguments(parser, 100)

    def build_model(self, config, info):
        backbone = configured_backbone(config)
        model = build_detector(backbone, len(info["class_names"]), config["image_size"], info["class_names"],
                               width=config["width"], head=config["head"])
        model.compile(optimizer=build_optimizer(config))
        return model

    def datasets(self, config, splits, info):
        augment = parse_augment(config["augment"], BOX_ONLY)
        max_boxes = min(config["max_boxes"], max(part.max_objects() for part in splits.values() if len(part)))
        train_ds = detection_dataset(splits["train"], config["image_size"], config["batch_size"], max_boxes,
                                     training=True, seed=config["seed"], augment=augment)
        return train_ds, detection_dataset(splits["val"], config["image_size"], config["batch_size"], max_boxes)

    def evaluate(self, run, data=None, images=None, split=None, output=None, loaded=None, explain=True,
                 **options):
        return evaluate.evaluate_run(self, run, data, images, split, output, loaded, explain)

    def scored(self, folder):
        return scored_coco(folder, "detections.json", [("", "bbox")])

    inference = staticmethod(make_detect)

    def answer(self, model, options):
        return make_detect(model, score_threshold=answer_threshold(model, options.get("confidence")))

    label_tools = ("review", "suggest")
    prelabel_formats = FORMATS

    def review(self, run, options):
        return review.review(self, run, options)

    def suggest(self, run, paths, options):
        return suggest.suggest(self, run, paths, options)

    def calibrate(self, model, part, config):
        return fit_calibration(evaluate.predict_split(model, part), part.boxes, part.labels)

    predictions = staticmethod(predict.predictions)
    export_run = staticmethod(export.export_run)

    def benchmark_export(self, run, folder, formats):
        # Detections down to COCO evaluation's threshold: the PR curve decides, not the export's default.
        return self.export(run, folder, "model", confidence=evaluate.EVAL_SCORE_THRESHOLD, formats=formats,
                           record=False)[0]

    benchmark_prepare = staticmethod(benchmark.prepare)
    benchmark_score = staticmethod(benchmark.score)
    benchmark_difference = staticmethod(export.detection_difference)
    benchmark_serve = staticmethod(benchmark.serve)
    benchmark_stages = staticmethod(benchmark.stages)


TASK = Detection()
