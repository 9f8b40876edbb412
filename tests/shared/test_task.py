"""A fourth task, defined in this file alone, goes through all six shared actions.

The house promises that a new task is one folder and one line in `tasks/cli.py`: the actions in
`shared.actions` take any `shared.task.Task` and never ask which task they serve. This task
("tagging": one tag per image, scored by agreement) has its own model, report, answer and export,
built only from `shared/` pieces, and nothing in `tasks/` knows it.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.actions import benchmark, evaluate, export, inspect, predict, review, suggest, train
from shared.actions.evaluate import finish_report, open_evaluation
from shared.actions.export import open_export
from shared.errors import TridentError
from shared.backbones.base import task_input
from shared.data.classification import load_classification_data
from shared.data.pipeline import image_dataset
from shared.data.preprocess import resize_images, uint8_at_size
from shared.engine.defaults import configured_backbone
from shared.data.decode import MAX_PIXELS
from shared.export.saved_model import endpoints, export_verified, make_compare
from shared.reports import Report
from shared.task import Task
from shared.task_model import TaskModel
from tests.factories import write_class_folders


@keras.saving.register_keras_serializable(package="trident_tests")
class Tagger(TaskModel):
    """Backbone, average pooling, one dense layer of tag logits (softmax outside the model)."""

    config_keys = ("num_classes", "image_size", "class_names")

    def __init__(self, backbone, num_classes, image_size, class_names, **kwargs):
        inputs, pixels = task_input(backbone, image_size)
        pooled = keras.layers.GlobalAveragePooling2D()(backbone(pixels)[backbone.pyramid_levels[-1]])
        super().__init__(inputs=inputs, outputs=keras.layers.Dense(num_classes, name="logits")(pooled), **kwargs)
        self.backbone, self.num_classes, self.image_size = backbone, num_classes, image_size
        self.class_names = list(class_names)

    def compile_defaults(self):
        return {"optimizer": keras.optimizers.Adam(1e-3),
                "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}


def tag(model):
    def answer(images):
        logits = model(resize_images(images, model.image_size), training=False)
        return {"scores": tf.nn.softmax(logits), "tags": tf.argmax(logits, -1, output_type=tf.int32)}

    return answer


def score_difference(served, expected, image):
    return float(np.abs(served["scores"] - expected["scores"]).max())


class Tagging(Task):
    name = "tagging"
    single_label = True
    coco_images = False
    keep = "last"
    headline = "agreement {agreement:.3f} on {images} images"

    def read(self, data, seed=0, val_fraction=0.1, test_fraction=0.2, images=None, image_size=None,
             unsplit_as_test=False):
        return load_classification_data(data, seed, val_fraction, test_fraction, unsplit_as_test=unsplit_as_test)

    def item_labels(self, part, index):
        return [int(part.labels[index])]

    def add_arguments(self, parser, action):
        if action == "predict":
            parser.add_argument("--json", required=True)

    def build_model(self, config, info):
        model = Tagger(configured_backbone(config), len(info["class_names"]), config["image_size"],
                       info["class_names"])
        model.compile()
        return model

    def datasets(self, config, splits, info):
        return (image_dataset(splits["train"], config["image_size"], config["batch_size"], training=True),
                image_dataset(splits["val"], config["image_size"], config["batch_size"]))

    def evaluate(self, run, data=None, images=None, split=None, output=None, loaded=None, explain=True,
                 **options):
        ev = open_evaluation(run, self, data, images, split, loaded)
        answer = tag(ev.model)
        tags = [int(answer(ev.dataset.image(i)[None])["tags"][0]) for i in range(len(ev.dataset))]
        metrics = {"agreement": float(np.mean(np.equal(tags, ev.dataset.labels))), "images": len(tags)}
        report = Report(f"Tagging: {os.path.basename(run.path)}", ev.subtitle())
        report.headline(metrics)
        return finish_report(report, ev, {}, output), metrics

    def answer(self, model, options):
        return tag(model)

    def predictions(self, options, predictor, explainer):
        def handle(path, image):
            return {"image": path, "tag": predictor.class_names[int(predictor.answer(image[None])["tags"][0])]}

        return handle, options["json"], None

    def export(self, run, output_dir="saved_models", name=None, compare_images=None, formats=("saved_model",),
               record=True, max_pixels=MAX_PIXELS):
        model, images = open_export(run, self, compare_images or 2)
        manifest = {"task": self.name, "run": run.path, "class_names": model.class_names,
                    "image_size": model.image_size, "endpoints": endpoints("scores [B, C], tags [B]")}
        return export_verified(output_dir, name or os.path.basename(run.path), model, tag(model), manifest,
                               make_compare(model, tf.function(tag(model)), images, score_difference),
                               run=run if record else None, formats=formats, max_pixels=max_pixels)

    def benchmark_prepare(self, split, size, limit):
        count = min(limit, len(split))
        return np.stack([uint8_at_size(split.image(i), size)[0] for i in range(count)]), split.labels[:count]

    def benchmark_score(self, answers, labels):
        return {"agreement": float(np.mean([int(a["tags"]) == int(y) for a, y in zip(answers, labels)]))}

    def benchmark_difference(self, served, expected, image):
        return score_difference(served, expected, image)


TASK = Tagging()


@pytest.mark.large
def test_a_task_defined_outside_tasks_goes_through_every_shared_action(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data")
    assert inspect.main(TASK, ["--data", data, "--output", str(tmp_path / "inspection")]) == 0
    inspected = json.loads((tmp_path / "inspection" / "report.json").read_text())
    assert inspected["counts"]["per_split"]["train"] > 0

    run = train.main(TASK, ["--data", data, "--backbone", "compact", "--image-size", "16", "--batch-size", "2",
                            "--epochs", "1", "--runs-dir", str(tmp_path / "runs"), "--verbose", "0"])
    assert os.path.basename(run.path) == "tagging-data-compact" and os.path.isfile(run.file("report.html"))
    assert "Validation: agreement" in capsys.readouterr().out

    paths = evaluate.main(TASK, ["--run", run.path])
    report = json.loads(open(paths["json"]).read())
    assert 0.0 <= report["metrics"]["agreement"] <= 1.0 and "agreement" in capsys.readouterr().out

    exported = export.main(TASK, ["--run", run.path, "--output-dir", str(tmp_path / "models")])
    manifest = json.loads(open(os.path.join(exported, "assets.extra", "trident.json")).read())
    assert manifest["task"] == "tagging" and manifest["max_abs_diff"] <= manifest["tolerance"]

    image = os.path.join(data, sorted(os.listdir(data))[0])
    for model in (run.path, exported):
        out = str(tmp_path / f"tags-{os.path.basename(model)}.json")
        predict.main(TASK, ["--model", model, image, "--json", out])
        answers = json.loads(open(out).read())
        assert len(answers) == len(os.listdir(image)) and answers[0]["tag"] in manifest["class_names"]

    rows = benchmark.main(TASK, ["--run", run.path, "--export", exported, "--latency-images", "2"])
    assert [row["format"] for row in rows] == ["Keras", "SavedModel"] and rows[0]["agreement"] == rows[1]["agreement"]

    # A task without label tools of its own: review and suggest refuse by name, before any work.
    for action, argv in ((review, ["--run", run.path]), (suggest, ["--run", run.path, "--data", data])):
        with pytest.raises(TridentError, match="`trident tagging (review|suggest)` does not exist yet"):
            action.main(TASK, argv)


def test_shared_code_never_asks_which_task_it_serves():
    """No comparison with a task's name and no probing of a model's attributes in `shared/`'s code (the
    readers in `shared/data/` are the task-named data wing; their move is separate work)."""
    import ast
    import pathlib

    names = {"classification", "detection", "segmentation"}
    root = pathlib.Path(__file__).resolve().parents[2] / "shared"
    found = []
    for path in sorted(root.rglob("*.py")):
        if "data" in path.relative_to(root).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]
                found += [f"{path.name}:{node.lineno} compares with {c!r}" for c in constants if c in names]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("hasattr", "getattr") and node.args
                  and isinstance(node.args[0], ast.Name) and node.args[0].id == "model"):
                found.append(f"{path.name}:{node.lineno} probes the model with {node.func.id}")
    assert not found, found
