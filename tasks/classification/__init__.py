"""Image classification: a backbone, global pooling and a dense head."""

# Importing any module of this package registers ImageClassifier, so checkpoints load from evaluate, export
# and predict alike (Keras finds a saved class by its registered name).
from tasks.classification import model as _model  # noqa: F401,E402
