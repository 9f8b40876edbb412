"""Test helpers every task uses: a model's fit, config and saving round trip; one image through every way in.

`run_task_test` checks what each task model must do (fit a batch, rebuild from its
config, save and load with the same outputs and the optimizer state); `same_answers`
feeds images of awkward formats through `predict` on a run, `predict` on its export and
the export's `serve_bytes`, and asserts the answers agree.
"""

import keras
import numpy as np
import pytest
from PIL import Image


def run_task_test(model, x, y, tmp_path, outputs=lambda out: out, atol=1e-5):
    """Fit one epoch, rebuild from config, save and load: the loaded model answers the same.

    Args:
        model: a compiled Trident task model.
        x, y: a tiny batch and its targets.
        outputs: function picking the comparable arrays from `model.predict`'s output.
    """
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    rebuilt = type(model).from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    expected, got = _arrays(outputs(model.predict(x, verbose=0))), _arrays(outputs(loaded.predict(x, verbose=0)))
    assert len(expected) == len(got)
    for a, b in zip(expected, got):
        np.testing.assert_allclose(a, b, atol=atol)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0
    return loaded


def _arrays(value):
    if isinstance(value, dict):
        return [np.asarray(value[k]) for k in sorted(value)]
    return [np.asarray(v) for v in value] if isinstance(value, (list, tuple)) else [np.asarray(value)]


def odd_format_images(folder, size=(40, 52), seed=0):
    """One picture saved five ways: 16-bit and 8-bit grayscale PNG, RGBA PNG, palette PNG, JPEG."""
    rng = np.random.default_rng(seed)
    height, width = size
    picture = np.zeros((height, width, 3), np.uint8)
    picture[: height // 2, : width // 2] = rng.integers(0, 255, 3)
    picture[height // 2:, width // 2:] = rng.integers(0, 255, 3)
    picture = np.clip(picture.astype(int) + rng.integers(-20, 20, picture.shape), 0, 255).astype(np.uint8)
    gray = picture.mean(-1).astype(np.uint8)
    paths = {
        "deep16.png": Image.fromarray(gray.astype(np.uint16) * 257),
        "gray.png": Image.fromarray(gray, "L"),
        "alpha.png": Image.fromarray(np.dstack([picture, np.full(size, 200, np.uint8)]), "RGBA"),
        "palette.png": Image.fromarray(picture).convert("P"),
        "photo.jpg": Image.fromarray(picture),
    }
    written = []
    for name, image in paths.items():
        path = str(folder / name)
        image.save(path)
        written.append(path)
    return written


def same_answers(task, run, export, make_answer, paths, agree):
    """`predict` on the run, `predict` on the export (serving_default) and `serve_bytes` agree.

    Args:
        make_answer: the task's inference function factory (`model -> function`).
        agree: `(reference answer, other answer, what)` asserting two answer dicts match.
    Returns:
        {path: the run's answer}.
    """
    import tensorflow as tf

    from shared.data.images import read_image
    from shared.export.saved_model import resolve_saved_model
    from shared.actions.predict import load_predictor

    on_run = load_predictor(str(run), task, make_answer)
    on_export = load_predictor(str(export), task, make_answer)
    assert on_run.class_names == on_export.class_names
    loaded = tf.saved_model.load(resolve_saved_model(str(export)))
    answers = {}
    for path in paths:
        image = read_image(path)
        with open(path, "rb") as f:
            from_bytes = {k: v.numpy() for k, v in loaded.serve_bytes(tf.constant([f.read()])).items()}
        reference = on_run.answer(image[None])
        agree(reference, on_export.answer(image[None]), f"{path}: run vs export")
        agree(reference, from_bytes, f"{path}: run vs serve_bytes")
        answers[path] = reference
    return answers


def evaluated_split(run, task, data, images=None):
    """The evaluation of `run` on other `data`, opened as `evaluate` opens it: `(model, dataset)`.

    `task` is the run's `shared.task.Task`.
    """
    from shared.actions.evaluate import open_evaluation
    from shared.engine.runs import open_run

    opened = open_run(str(run))
    evaluation = open_evaluation(opened, task, data, images)
    return evaluation.model, evaluation.dataset


def odd_batches_answer(export, size=(20, 30)):
    """An export answers an empty batch with empty outputs, a grey batch as the grey image in
    colour, and an RGBA batch as its RGB part; `serve_bytes` answers an empty batch too."""
    import tensorflow as tf

    from shared.export.saved_model import resolve_saved_model

    loaded = tf.saved_model.load(resolve_saved_model(str(export)))
    serve = loaded.signatures["serving_default"]
    grey = np.random.default_rng(1).integers(0, 255, (1, *size, 1), dtype=np.uint8)
    colour = {k: v.numpy() for k, v in serve(images=tf.constant(np.repeat(grey, 3, -1))).items()}
    for batch in (grey, np.concatenate([np.repeat(grey, 3, -1), grey], -1)):
        for key, value in serve(images=tf.constant(batch)).items():
            if value.dtype == tf.string:
                np.testing.assert_array_equal(value.numpy(), colour[key], err_msg=key)
            else:
                np.testing.assert_allclose(value.numpy(), colour[key], atol=1e-5, err_msg=key)
    for outputs in (serve(images=tf.constant(np.zeros((0, *size, 3), np.uint8))),
                    loaded.serve_bytes(tf.constant([], tf.string))):
        assert all(value.shape[0] == 0 for value in outputs.values())


def portable_match_saved_model(export, keys, atol, formats=("tflite", "onnx")):
    """The export's `model.tflite` (TFLite interpreter) and `model.onnx` (onnxruntime) passed the
    export's check within `atol`, and, run on random images at the model's size, answer as the
    SavedModel's `serving_default` does (`keys`: outputs compared; all must be present); the ONNX
    model on a batch of two at once."""
    import json

    import numpy as np
    import tensorflow as tf

    from shared.export.portable import onnx_session

    meta = json.loads((export / "assets.extra" / "trident.json").read_text())
    size = meta["image_size"]
    images = np.random.default_rng(7).integers(0, 255, (2, size, size, 3), np.uint8)
    served = tf.saved_model.load(str(export)).signatures["serving_default"]
    expected = [served(images=tf.constant(images[i:i + 1])) for i in range(2)]
    for name in formats:
        assert meta[name]["max_abs_diff"] <= atol and (export / meta[name]["file"]).is_file()
        if name == "tflite":
            assert meta[name]["ops"] == "TFLite built-ins"
            runner = tf.lite.Interpreter(model_path=str(export / "model.tflite")).get_signature_runner()
            answers = [runner(images=images[i:i + 1]) for i in range(2)]
        else:
            session = onnx_session(str(export / "model.onnx"))
            both = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"images": images})))
            answers = [{k: v[i:i + 1] for k, v in both.items()} for i in range(2)]
        for ours, theirs in zip(answers, expected):
            assert set(ours) == {k for k, v in theirs.items() if v.dtype != tf.string}, name
            for key in keys:
                np.testing.assert_allclose(ours[key], theirs[key].numpy(), atol=atol, err_msg=f"{name} {key}")


def benchmarked(task, run, metric, export=None, tolerance=1e-4):
    """`trident TASK benchmark` on `run` (on `export`, else a fresh export of every format): one row per
    runtime; the float formats score as the Keras model does and answer within `tolerance` of it;
    the int8 model scores something; the run's own export record is left alone. Returns the rows."""
    import json

    from tasks.cli import main as trident

    record = run / "export.json"
    before = record.read_text() if record.is_file() else None
    where = ["--export", str(export)] if export else []
    assert trident([task, "benchmark", "--run", str(run), *where, "--images", "4", "--latency-images", "2",
                    "--max-batch", "2"]) == 0
    rows = {row["format"]: row for row in json.loads((run / "benchmark" / "benchmark.json").read_text())["rows"]}
    assert list(rows) == ["Keras", "SavedModel", "TFLite", "TFLite int8", "ONNX"]
    for name, row in rows.items():
        assert row["latency_ms_batch1"] > 0 and row["images_per_s_at_batch"] > 0 and row["megabytes"] > 0, name
        assert 0.0 <= row[metric] <= 1.0, name
        if name != "TFLite int8":
            assert row[metric] == pytest.approx(rows["Keras"][metric], abs=1e-6), name
            assert row["max_abs_diff_vs_keras"] <= tolerance, name
    assert rows["TFLite"]["batch"] == 1 and rows["ONNX"]["batch"] == 2
    assert (run / "benchmark" / "benchmark.md").is_file()
    assert (record.read_text() if record.is_file() else None) == before
    return rows
