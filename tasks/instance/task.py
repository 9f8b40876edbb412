"""Instance segmentation: each object's class, box and own mask.

--data: `shapes` (built-in); a COCO JSON with `segmentation` (polygons or RLE; `iscrowd`
regions ignored in scoring); a folder with images/ + labels/ (YOLO segmentation polygons);
images/ + instances/ (or masks/: instance-id PNGs, 0 = background, 8- or 16-bit); one folder
per image with images/ + masks/ (a binary PNG per object); such folders with train/ val/ test/;
or a dataset YAML (`path`, `train`, `val`, `test`, `names`). Scores are COCO mask and box AP from
pycocotools, masks at each image's own size; the export answers boxes and masks in the input
image's own pixels.
"""

from shared.config import positive_int
from shared.data.augment import parse_augment
from shared.data.flip_probe import objects_flip_probe
from shared.detector.scored import scored_coco
from shared.detector.threshold import answer_threshold, fit_calibration
from shared.detector.head import add_nms_arguments
from shared.engine.defaults import configured_backbone
from shared.engine.training import build_optimizer
from shared.errors import fail
from shared.settings import Setting
from shared.task import Task
from tasks.instance import benchmark, evaluate, export, predict, review, suggest
from tasks.instance.data import load_instance_data
from tasks.instance.inference import make_segment
from tasks.instance.inspect import instance_sections
from tasks.instance.model import MASK_STRIDE, InstanceSegmenter
from tasks.instance.pipeline import instance_dataset


class Instance(Task):
    name = "instance"
    builtins = ("shapes",)
    one_class_ok = True  # finding one kind of object (nuclei, say) is a task
    size_rules = (128, 320, "long_side")
    pretrained_size_rules = (128, 320, "long_side")
    compare_images = 3
    headline = "mask AP {AP:.4f}  AP50 {AP50:.4f}  AP75 {AP75:.4f}  box AP {box_AP:.4f}"
    counts_title = "Objects per class"
    train_settings = (
        Setting("width", 64, positive_int, help="channels of the neck and head"),
        Setting("head", "lean", choices=("lean", "full"), help="box and class head: lean or full"),
        Setting("coefficients", 32, positive_int, help="prototype masks each object's mask combines"),
        Setting("max_boxes", 300, positive_int, help="objects per image kept for training"),
    )
    train_defaults = {"batch_size": 16, "lr": 2e-3, "weight_decay": 5e-4, "epochs": 30}

    def read(self, data, seed=0, val_fraction=0.1, test_fraction=0.2, images=None, image_size=None,
             unsplit_as_test=False):
        return load_instance_data(data, seed, val_fraction, test_fraction, images, image_size,
                                  unsplit_as_test=unsplit_as_test)

    def check(self, config):
        if config["image_size"] and config["image_size"] % 32:
            fail("Instance segmentation needs an image size that is a multiple of 32",
                 "Use for example --image-size 320", image_size=config["image_size"])

    def item_labels(self, part, index):
        return [int(c) for c in part.labels[index]]

    def inspect_sections(self, options):
        return self.item_labels, instance_sections(options["max_boxes"])

    flip_probe = staticmethod(objects_flip_probe)

    def add_arguments(self, parser, action):
        if action == "inspect":
            parser.add_argument("--max-boxes", type=int, default=300, help="objects per image the model keeps")
        elif action == "predict":
            predict.add_arguments(parser)
        elif action == "export":
            add_nms_arguments(parser, 300)

    def build_model(self, config, info):
        model = InstanceSegmenter(configured_backbone(config), len(info["class_names"]), config["image_size"],
                                  info["class_names"], width=config["width"], head=config["head"],
                                  coefficients=config["coefficients"])
        model.compile(optimizer=build_optimizer(config))
        return model

    def datasets(self, config, splits, info):
        augment = parse_augment(config["augment"])
        max_boxes = min(config["max_boxes"], max(part.max_objects() for part in splits.values() if len(part)))
        train_ds = instance_dataset(splits["train"], config["image_size"], config["batch_size"], MASK_STRIDE, max_boxes,
                                    training=True, seed=config["seed"], augment=augment)
        return train_ds, instance_dataset(splits["val"], config["image_size"], config["batch_size"], MASK_STRIDE,
                                          max_boxes)

    def evaluate(self, run, data=None, images=None, split=None, output=None, loaded=None, explain=True,
                 **options):
        return evaluate.evaluate_run(self, run, data, images, split, output, loaded, explain)

    def scored(self, folder):
        return scored_coco(folder, "segmentations.json", [("mask ", "segm"), ("box ", "bbox")])

    label_tools = ("review", "suggest")
    prelabel_formats = ("coco",)

    def review(self, run, options):
        return review.review(self, run, options)

    def suggest(self, run, paths, options):
        return suggest.suggest(self, run, paths, options)

    inference = staticmethod(make_segment)

    def answer(self, model, options):
        return make_segment(model, score_threshold=answer_threshold(model, options.get("confidence")))

    def calibrate(self, model, part, config):
        return fit_calibration(evaluate.predict_split(model, part)[0], part.boxes, part.labels)

    predictions = staticmethod(predict.predictions)
    export_run = staticmethod(export.export_run)

    def benchmark_export(self, run, folder, formats):
        return self.export(run, folder, "model", confidence=evaluate.EVAL_SCORE_THRESHOLD, formats=formats,
                           record=False)[0]

    benchmark_prepare = staticmethod(benchmark.prepare)
    benchmark_score = staticmethod(benchmark.score)
    benchmark_difference = staticmethod(export.instance_difference)
    benchmark_serve = staticmethod(benchmark.serve)


TASK = Instance()
