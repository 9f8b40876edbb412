"""Exports that serve end to end: the SavedModel and its endpoints (`saved_model`), TFLite, int8 TFLite and
ONNX (`portable`, `int8_convert`), each reloaded and compared before it is kept."""
