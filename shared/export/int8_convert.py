"""Quantize a SavedModel to int8 TFLite in a process of its own: `python -m shared.export.int8_convert WORK`.

TensorFlow's int8 quantizer can end the process that runs it (given an infinity in its
calibration ranges it printed "scale out of expressed type range" and then faulted), which
would take an export's other formats down with it. `quantize_in_child` runs it here instead and turns a crash into an
exception the export reports like any other refusal.

WORK holds `options.json` (`source` SavedModel, `ops` set names, `nodes` and `kinds` kept
float) and `calibration.npy` (uint8 `[N, S, S, C]`); the child writes `WORK/model.tflite`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np


def quantize_in_child(source, supported_ops, images, float_nodes, float_kinds):
    """The int8 TFLite bytes of `source`, calibrated on `images` (uint8 `[S, S, C]` each), with the
    `float_nodes` (tensor names) and `float_kinds` (op names) left float; raises RuntimeError with
    the quantizer's last error line when the child fails or crashes."""
    work = tempfile.mkdtemp(prefix="trident-int8-")
    try:
        np.save(os.path.join(work, "calibration.npy"), np.stack(images))
        with open(os.path.join(work, "options.json"), "w") as f:
            json.dump({"source": os.path.abspath(source), "ops": [op.name for op in supported_ops],
                       "nodes": list(float_nodes), "kinds": list(float_kinds)}, f)
        done = subprocess.run([sys.executable, "-m", "shared.export.int8_convert", work], capture_output=True,
                              text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        result = os.path.join(work, "model.tflite")
        if done.returncode != 0 or not os.path.isfile(result):
            said = [line.strip() for line in done.stderr.splitlines() if line.strip().startswith("error:")]
            said = said or [line.strip() for line in done.stderr.splitlines() if line.strip()][-1:]
            how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
            raise RuntimeError(f"TensorFlow's int8 quantizer stopped ({how}): {said[-1] if said else 'no message'}")
        with open(result, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(work):
    import tensorflow as tf

    with open(os.path.join(work, "options.json")) as f:
        options = json.load(f)
    images = np.load(os.path.join(work, "calibration.npy"))
    converter = tf.lite.TFLiteConverter.from_saved_model(options["source"])
    converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, name) for name in options["ops"]]
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[None]] for image in images)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=converter.representative_dataset,
        debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=options["nodes"],
                                                                    denylisted_ops=options["kinds"]))
    converted = debugger.get_nondebug_quantized_model()
    with open(os.path.join(work, "model.tflite"), "wb") as f:
        f.write(converted)


if __name__ == "__main__":
    main(sys.argv[1])
