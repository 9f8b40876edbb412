"""The export check itself: what it compares, what it refuses, and the inputs every export takes."""

import argparse
import os

import numpy as np
import pytest
import tensorflow as tf

from shared.backbones import build_backbone
from shared.errors import TridentError
from shared.export.saved_model import export_verified, make_compare
from tasks.classification.export import probability_difference
from tasks.classification.inference import make_classify
from tasks.classification.model import build_classifier
from tests.helpers import odd_batches_answer

IMAGES = [np.random.default_rng(i).integers(0, 255, (24 + i, 40, 3), dtype=np.uint8) for i in range(2)]


@pytest.fixture(scope="module")
def model():
    return build_classifier(build_backbone("lenet5"), 3, 32, ["a", "b", "c"])


def test_an_export_answers_odd_batches_and_states_what_it_compared(model, tmp_path):
    classify = make_classify(model)
    path, manifest = export_verified(str(tmp_path), "m", model, classify, {"task": "classification"},
                                     make_compare(model, tf.function(classify), IMAGES, probability_difference))
    assert manifest["compared_images"] == 2 and manifest["compared"]["raw_outputs_max_abs_diff"] <= 1e-4
    odd_batches_answer(path)


def test_a_mismatch_in_the_raw_outputs_keeps_nothing(model, tmp_path):
    classify = make_classify(model)
    compare = make_compare(model, tf.function(classify), IMAGES, probability_difference)

    def tampered(loaded):  # the answers agree, the network's raw outputs do not
        return dict(compare(loaded), raw_outputs=0.5)

    with pytest.raises(TridentError, match="differs from the Keras model by 0.5"):
        export_verified(str(tmp_path), "m", model, classify, {"task": "classification"}, tampered)
    assert os.listdir(tmp_path / "m") == []


def test_a_check_on_no_image_is_refused(model, tmp_path):
    classify = make_classify(model)
    with pytest.raises(TridentError, match="No held-out image"):
        export_verified(str(tmp_path), "m", model, classify, {"task": "classification"},
                        make_compare(model, tf.function(classify), [], probability_difference))
    assert os.listdir(tmp_path / "m") == []


def test_temporaries_of_a_killed_export_are_removed_by_the_next(model, tmp_path):
    stale = tmp_path / "m" / ".1.tmp-999999999-abcdef12"  # no process has this id
    stale.mkdir(parents=True)
    (stale / "saved_model.pb").write_bytes(b"half")
    classify = make_classify(model)
    path, _ = export_verified(str(tmp_path), "m", model, classify, {"task": "classification"},
                              make_compare(model, tf.function(classify), IMAGES[:1], probability_difference))
    assert sorted(os.listdir(tmp_path / "m")) == ["1"] and path.endswith("1")


def test_no_export_is_kept_when_the_run_folder_cannot_record_it(model, tmp_path):
    class UnwritableRun:  # its folder is a file: writing export.json there fails like a read-only folder
        def file(self, *parts):
            return str(tmp_path / "run-is-a-file" / "export.json")

    (tmp_path / "run-is-a-file").write_text("not a folder")
    classify = make_classify(model)
    with pytest.raises(OSError):
        export_verified(str(tmp_path / "exports"), "m", model, classify, {"task": "classification"},
                        make_compare(model, tf.function(classify), IMAGES[:1], probability_difference),
                        run=UnwritableRun())
    assert os.listdir(tmp_path / "exports" / "m") == []


# The file moves of an export, in order: trident.json and labels.txt into the new SavedModel,
# trident.json again with the check's result, the run's export.json, the SavedModel into place.
EXPORT_STEPS = ["manifest", "labels", "checked manifest", "run record", "version folder"]


@pytest.mark.parametrize("step", range(len(EXPORT_STEPS)), ids=EXPORT_STEPS)
def test_a_failed_write_at_any_step_of_an_export_keeps_no_export_and_the_old_record(model, tmp_path, monkeypatch,
                                                                                    step):
    import errno
    import json

    class Run:
        def file(self, *parts):
            return str(tmp_path / "run" / "export.json")

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "export.json").write_text(json.dumps({"path": "an earlier export"}))
    classify = make_classify(model)
    real_replace, calls = os.replace, []

    def full_disk(source, target):
        calls.append(target)
        if len(calls) == step + 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        export_verified(str(tmp_path / "exports"), "m", model, classify, {"task": "classification"},
                        make_compare(model, tf.function(classify), IMAGES[:1], probability_difference),
                        labels=["a", "b", "c"], run=Run())
    monkeypatch.setattr(os, "replace", real_replace)
    assert os.listdir(tmp_path / "exports" / "m") == []  # no version, no temporary
    assert json.loads((tmp_path / "run" / "export.json").read_text()) == {"path": "an earlier export"}


def test_a_difference_that_is_not_a_number_counts_as_the_worst():
    from shared.actions.export import formats_list
    from shared.export.saved_model import _worse

    assert _worse(0.5, float("nan")) == float("inf") and _worse(0.5, 0.2) == 0.5
    assert formats_list("tflite") == ("saved_model", "tflite") and formats_list("saved_model") == ("saved_model",)
    assert formats_list(" ONNX,tflite,onnx") == ("saved_model", "onnx", "tflite")
    with pytest.raises(argparse.ArgumentTypeError, match="coreml: choose from saved_model, tflite, tflite_int8, onnx"):
        formats_list("tflite,coreml")
