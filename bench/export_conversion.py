"""Convert an exported detector's `serving_default` to TFLite and compare it with the SavedModel.

    .venv/bin/python -m bench export_conversion saved_models/detection-shapes-compact

Tries TFLite built-in ops alone first, then built-ins plus TF ops; prints which worked
and the largest difference from the SavedModel on a test image (a fixed input size,
since TFLite wants one).
"""

import argparse
import os
import tempfile

from bench import _common  # noqa: F401  (quiet TensorFlow logs)
import numpy as np
import tensorflow as tf

from shared.export.saved_model import resolve_saved_model


def convert(folder, ops):
    converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serving_default"])
    converter.target_spec.supported_ops = ops
    return converter.convert()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--size", type=int, nargs=2, default=(96, 128), metavar=("H", "W"))
    args = parser.parse_args()
    folder = resolve_saved_model(args.model)
    image = np.random.default_rng(0).integers(0, 255, (1, *args.size, 3), np.uint8)
    expected = {k: v.numpy() for k, v in tf.saved_model.load(folder).signatures["serving_default"](
        images=tf.constant(image)).items()}
    for label, ops in (("TFLite built-ins only", [tf.lite.OpsSet.TFLITE_BUILTINS]),
                       ("built-ins + TF ops", [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS])):
        try:
            flat = convert(folder, ops)
        except Exception as error:  # the converter raises many types; report and go on
            print(f"{label}: conversion failed: {str(error).splitlines()[0][:300]}")
            continue
        path = os.path.join(tempfile.mkdtemp(), "model.tflite")
        with open(path, "wb") as f:
            f.write(flat)
        interpreter = tf.lite.Interpreter(model_path=path)
        runner = interpreter.get_signature_runner("serving_default")
        interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], image.shape)
        interpreter.allocate_tensors()
        got = runner(images=image)
        n = int(expected["num_detections"][0])
        diff = max(float(np.abs(got["boxes"][0][:n] - expected["boxes"][0][:n]).max(initial=0)),
                   float(np.abs(got["scores"][0][:n] - expected["scores"][0][:n]).max(initial=0)))
        same = int(got["num_detections"][0]) == n and np.array_equal(got["classes"][0][:n], expected["classes"][0][:n])
        print(f"{label}: converted ({len(flat) / 2**20:.1f} MB); {n} detections, same classes and count: {same}, "
              f"max |difference| {diff:.2e}")


if __name__ == "__main__":
    main()
