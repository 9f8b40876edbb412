"""Detection's label review: objects without a box, boxes of the wrong class, badly placed boxes
(`shared.review.box_review`), from the run's detector."""

from shared.review.box_review import box_review
from tasks.detection.evaluate import predict_split


def review(task, run, options):
    return box_review(task, run, options, predict_split)
