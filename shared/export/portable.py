"""Exports for runtimes other than TensorFlow: TFLite and ONNX, each checked in its own runtime.

Both hold the numeric outputs of the task's `serving_default` (class names stay in
`labels.txt`) for uint8 images at the model's own size: the antialiased resize of the
SavedModel has no kernel in either runtime, so the caller resizes (detection: letterbox,
padding 114), as with any fixed-size mobile model.

    model.tflite        images uint8 [1, S, S, 3]   built-in ops only when they suffice
    model_int8.tflite   the same, int8 where TFLite has int8 kernels, calibrated on training images
    model.onnx          images uint8 [N, S, S, 3]   any batch, opset 17, onnxruntime's CPU provider

Each writer returns what it checked for the manifest, or raises the project's error when the
model does not convert or the runtime's answers differ from the SavedModel's on the held-out
images by more than the export's tolerance (int8: its difference is recorded, not held to
the tolerance; `benchmark` states its metric beside the float model's).
"""

import logging
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from shared.data.preprocess import uint8_at_size
from shared.errors import TridentError, fail
from shared.export.int8_convert import quantize_in_child
from shared.io import write_bytes
from shared.patches import tflite_ops

ONNX_OPSET = 17


def numeric(serve):
    """`serve` without its string outputs (class names), which TFLite and ONNX handle poorly."""
    return lambda images: {k: v for k, v in serve(images).items() if v.dtype != tf.string}


def write_tflite(folder, model, serve, compare, tolerance, final):
    """`folder/model.tflite` for one uint8 image `[1, S, S, 3]`, checked in the TFLite interpreter."""
    converted, ops = _tflite_bytes(folder, model, serve, final)
    path = os.path.join(folder, "model.tflite")
    write_bytes(path, converted)
    runner, outputs = _tflite_runner(path)
    difference = _checked("TFLite", runner, compare, model.image_size, tolerance, final)
    return {"file": "model.tflite", "ops": ops, "bytes": len(converted), "max_abs_diff": difference,
            "input": f"uint8 images [1, {model.image_size}, {model.image_size}, 3] ({_sized(model)})",
            "outputs": outputs}


def write_tflite_int8(folder, model, serve, compare, tolerance, final, calibration=100):
    """`folder/model_int8.tflite`: weights and activations in int8 where TFLite has int8 kernels (float
    elsewhere), calibrated on up to `calibration` training images. Its answers are not held to the
    float tolerance: the largest difference is recorded, and `benchmark` measures what it costs in
    the task's metric."""

    size, letterboxed = model.image_size, model.sizing == "letterbox"
    images = [uint8_at_size(image, size, letterboxed)[0] for image in compare.training(calibration)]
    if not images:
        fail(f"No training image to calibrate the int8 TFLite model on; nothing was written to {final}",
             "Keep the run's data in place, or export without tflite_int8 in --format")

    def network_only(converter, source):
        """int8 for the network's own operations; decoding, NMS and other post-processing stay float
        (quantized, a detector's box arithmetic collapsed and its NMS divided by zero). The quantizer
        runs in a child process (`shared.export.int8_convert`): it can crash the process that runs it."""
        float_model = tf.lite.Interpreter(model_content=tf.lite.TFLiteConverter.from_saved_model(source).convert())
        names = {t["index"]: t["name"] for t in float_model.get_tensor_details()}
        inside, outside, kinds = set(), [], set()
        for op in tflite_ops(float_model):
            produced = [names[i] for i in op["outputs"] if i in names]
            kinds.add(op["op_name"])
            if produced and all(model.name in name for name in produced):
                inside.add(op["op_name"])
            else:
                outside += produced
        return quantize_in_child(source, converter.target_spec.supported_ops, images, outside,
                                 sorted((kinds - inside) | POST_PROCESSING_OPS))

    converted, ops = _tflite_bytes(folder, model, serve, final, network_only, "TFLite int8", "tflite_int8")
    path = os.path.join(folder, "model_int8.tflite")
    write_bytes(path, converted)
    runner, outputs = _tflite_runner(path)
    difference = _measured(runner, compare, size)
    if np.isnan(difference):
        fail(f"The int8 TFLite model answers NaN; nothing was written to {final}",
             "Export without tflite_int8 in --format, or report this as a bug")
    return {"file": "model_int8.tflite", "ops": ops, "bytes": len(converted), "calibration_images": len(images),
            "max_abs_diff": float(difference), "held_to_tolerance": False,
            "input": f"uint8 images [1, {size}, {size}, 3] ({_sized(model)})", "outputs": outputs}


# Operations of post-processing subgraphs (NMS loops) that never appear in a network: kept float.
POST_PROCESSING_OPS = {"DIV", "MAXIMUM", "SQUARED_DIFFERENCE", "SUM", "NON_MAX_SUPPRESSION_V4",
                       "NON_MAX_SUPPRESSION_V5", "WHILE", "IF"}


def _tflite_bytes(folder, model, serve, final, convert=lambda converter, source: converter.convert(),
                  runtime="TFLite", fmt="tflite"):
    """The TFLite flat buffer of `serve`'s numeric outputs at `[1, S, S, 3]`, and which ops it needs.

    `convert(converter, source SavedModel folder) -> bytes` may set the converter up first; a
    refusal names `runtime` and the `--format` entry `fmt`."""
    size = model.image_size
    # The converter freezes a Keras model's weights when they come through an ExportArchive
    # (a plain tf.saved_model.save of Keras 3 variables left them unread: NaN outputs).
    source = os.path.join(folder, "assets.extra", "tflite-source")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", tf.function(numeric(serve)),
                         input_signature=[tf.TensorSpec([1, size, size, 3], tf.uint8, name="images")])
    archive.write_out(source, verbose=False)
    reason = ""
    try:
        for label, chosen in (("TFLite built-ins", [tf.lite.OpsSet.TFLITE_BUILTINS]),
                              ("TFLite built-ins and TensorFlow ops (needs the Flex delegate)",
                               [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS])):
            converter = tf.lite.TFLiteConverter.from_saved_model(source)
            converter.target_spec.supported_ops = chosen
            try:
                return convert(converter, source), label
            except Exception as error:  # the converter raises many kinds; the op it names is what matters
                lines = [line.strip() for line in str(error).splitlines()
                         if "op is neither" in line or "Custom ops:" in line]
                reason = (lines or [str(error).strip().splitlines()[0]])[0][:300]
    finally:
        shutil.rmtree(source, ignore_errors=True)
    _refused(runtime, reason, final, fmt)


def _tflite_runner(path):
    """`(answer(image [S, S, 3]) -> outputs, sorted output names)` of a TFLite file."""
    interpreter = tf.lite.Interpreter(model_path=path)
    runner = interpreter.get_signature_runner()
    outputs = interpreter.get_signature_list()[next(iter(interpreter.get_signature_list()))]["outputs"]
    return (lambda image: runner(images=image[None])), sorted(outputs)


def write_onnx(folder, model, serve, compare, tolerance, final):
    """`folder/model.onnx` for uint8 images `[N, S, S, 3]`, checked in onnxruntime."""
    import tf2onnx

    size = model.image_size
    function = tf.function(numeric(serve), input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8,
                                                                          name="images")])
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    path = os.path.join(folder, "model.onnx")
    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature,
                                                 opset=ONNX_OPSET, output_path=path)
        session = onnx_session(path)
    except Exception as error:  # tf2onnx and onnxruntime raise many kinds; their first line names the op
        _refused("ONNX", str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__,
                 final, "onnx")
    names = [output.name for output in session.get_outputs()]

    def answer(image):
        return dict(zip(names, session.run(None, {"images": image[None]})))

    difference = _checked("ONNX", answer, compare, size, tolerance, final)
    return {"file": "model.onnx", "opset": ONNX_OPSET, "bytes": os.path.getsize(path), "max_abs_diff": difference,
            "input": f"images: uint8 [N, {size}, {size}, 3], any N ({_sized(model)})", "outputs": sorted(names)}


def onnx_session(path, threads=None):
    """An onnxruntime session on the CPU for `path`, its warnings quiet."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _sized(model):
    return "letterbox first, padding 114" if model.sizing == "letterbox" else "resize first"


def _measured(answer, compare, size):
    """The largest difference of `answer(image) -> outputs` from the SavedModel's answers at `size`."""
    return compare.against(lambda image: {k: np.asarray(v) for k, v in answer(image).items()}, size)


def _checked(runtime, answer, compare, size, tolerance, final):
    """The largest difference of `answer` from the SavedModel's answers, or the project's error."""
    difference = _measured(answer, compare, size)
    if not np.isfinite(difference) or difference > tolerance:
        fail(f"The {runtime} model differs from the Keras model by {difference:.3g} (tolerance {tolerance}); "
             f"nothing was written to {final}", f"Export without {runtime.lower()} in --format, or report this "
             "as a bug", max_abs_diff=float(difference))
    return float(difference)


def _refused(runtime, reason, final, fmt):
    raise FormatRefused(f"The model does not convert to {runtime} ({reason}); nothing was written to {final}. "
                        f"Export without {fmt} in --format (the SavedModel alone), or report the operation "
                        "named above.", fmt)


class FormatRefused(TridentError):
    """An export format the model does not convert to; `format` names it (a `--format` entry)."""

    def __init__(self, message, fmt):
        super().__init__(message)
        self.format = fmt


PORTABLE = {"tflite": write_tflite, "tflite_int8": write_tflite_int8, "onnx": write_onnx}
