"""Semantic segmentation: DeepLabV3+ (ASPP + shallow skip) or a lighter FPN head."""

# Importing any module of this package registers SemanticSegmenter, so checkpoints load from evaluate, export
# and predict alike (Keras finds a saved class by its registered name).
from tasks.segmentation import model as _model  # noqa: F401,E402
