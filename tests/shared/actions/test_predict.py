"""`predict`'s model loader: a SavedModel Trident did not export runs only when trusted."""

import json

import numpy as np
import tensorflow as tf
from PIL import Image

from tasks.cli import main as trident


class _Foreign(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
    def serve(self, images):
        mean = tf.reduce_mean(tf.cast(images, tf.float32), axis=[1, 2])  # [B, 3]
        probabilities = tf.nn.softmax(mean / 50.0)
        ids = tf.argmax(probabilities, -1, output_type=tf.int32)
        return {"probabilities": probabilities, "class_ids": ids, "scores": tf.reduce_max(probabilities, -1)}


def test_a_savedmodel_without_the_manifest_runs_only_with_trust_model(tmp_path, capsys):
    module = _Foreign()
    tf.saved_model.save(module, str(tmp_path / "foreign"), signatures={"serving_default": module.serve})
    picture = np.zeros((20, 30, 3), np.uint8)
    picture[..., 2] = 250  # blue: class 2 wins
    Image.fromarray(picture).save(tmp_path / "blue.png")
    command = ["classification", "predict", "--model", str(tmp_path / "foreign"), str(tmp_path / "blue.png"),
               "--top-k", "1", "--json", str(tmp_path / "out.json")]

    assert trident(command) == 1
    err = capsys.readouterr().err
    assert "was not exported by Trident" in err and "--trust-model" in err and "Traceback" not in err
    assert not (tmp_path / "out.json").exists()

    assert trident([*command, "--trust-model"]) == 0
    answer = json.loads((tmp_path / "out.json").read_text())[0]
    assert answer["top"][0]["class"] == "class_2"
