"""Instance segmentation's label review: objects without a mask, objects of the wrong class, masks badly placed,
judged by their boxes (`shared.review.box_review`) against the run's detections. A mask drawn sloppily inside a
right box is not judged."""

from shared.review.box_review import box_review
from tasks.instance.evaluate import predict_split


def review(task, run, options):
    return box_review(task, run, options, lambda model, part, threshold: predict_split(model, part, threshold)[0])
