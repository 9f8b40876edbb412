"""The benchmark's own checks: an export made for another model is refused; a format the model does not
convert to is left out and named; its table reads right."""

import json
import types

import pytest

from shared.actions.benchmark import _fresh_export, _matching_export, _write
from shared.errors import TridentError


def _export(root, size, names):
    version = root / "m" / "3"
    (version / "assets.extra").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    (version / "assets.extra" / "trident.json").write_text(json.dumps({"image_size": size, "class_names": names}))
    return version


def test_an_export_of_another_size_or_other_classes_is_refused(tmp_path):
    model = types.SimpleNamespace(image_size=32, class_names=["a", "b"])
    version = _export(tmp_path, 32, ["a", "b"])
    assert _matching_export(str(tmp_path / "m"), model) == str(version)  # the newest version of a name
    for size, names in ((64, ["a", "b"]), (32, ["a", "c"])):
        other = _export(tmp_path / f"{size}{names[1]}", size, names)
        with pytest.raises(TridentError, match="was made for"):
            _matching_export(str(other), model)


def test_the_table_has_one_row_per_runtime_and_says_when_answers_differ_in_kind(tmp_path):
    run = types.SimpleNamespace(path=str(tmp_path / "run"))
    rows = [{"format": name, "images": 4, "split": "val", "accuracy": accuracy, "latency_ms_batch1": 2.5,
             "batch": 1, "images_per_s_at_batch": 400.0, "megabytes": 1.5, "max_abs_diff_vs_keras": difference}
            for name, accuracy, difference in (("Keras", 0.75, 0.0), ("TFLite int8", 0.5, float("inf")))]
    paths = _write(str(tmp_path / "out"), run, "export", rows, [("backbone", 1.25)], {"onnx": "no kernel"})
    lines = paths["table"].splitlines()
    assert lines[0].startswith("| format | accuracy |") and len(lines) == 4
    assert "| TFLite int8 | 0.5000 |" in lines[3] and lines[3].endswith("| other answers |")
    text = open(paths["md"]).read()
    assert "4 images of the val split" in text and "| backbone | 1.25 |" in text
    assert json.load(open(paths["json"]))["stages_ms"] == {"backbone": 1.25}
    assert "- onnx: no kernel" in text and json.load(open(paths["json"]))["refused"] == {"onnx": "no kernel"}


def test_a_fresh_export_leaves_out_the_formats_the_model_does_not_convert_to():
    from shared.export.portable import FormatRefused

    asked = []

    def export(run, folder, formats):
        asked.append(formats)
        if "tflite_int8" in formats:
            raise FormatRefused("The model does not convert to TFLite int8 (quantizer stopped)", "tflite_int8")
        return folder + "/1"

    task = types.SimpleNamespace(benchmark_export=export)
    path, refused = _fresh_export(task, "run", "out")
    assert path == "out/1" and asked == [("saved_model", "tflite", "tflite_int8", "onnx"),
                                         ("saved_model", "tflite", "onnx")]
    assert refused == {"tflite_int8": "The model does not convert to TFLite int8 (quantizer stopped)"}


def test_a_quantizer_that_fails_in_its_own_process_is_an_exception_here(tmp_path):
    import numpy as np
    import tensorflow as tf

    from shared.export.int8_convert import quantize_in_child

    with pytest.raises(RuntimeError, match=r"int8 quantizer stopped \(exit status 1\): .*SavedModel"):
        quantize_in_child(str(tmp_path / "missing"), [tf.lite.OpsSet.TFLITE_BUILTINS],
                          [np.zeros((8, 8, 3), np.uint8)], [], [])
