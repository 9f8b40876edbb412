"""Object detection: anchor-free detector (PAN neck, decoupled head, task-aligned assignment)."""

# Importing any module of this package registers ObjectDetector, so checkpoints load from evaluate, export
# and predict alike (Keras finds a saved class by its registered name).
from tasks.detection import model as _model  # noqa: F401,E402
