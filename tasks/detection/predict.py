"""Detect objects in images; draw them and write a JSON of detections.

    trident detection predict --model runs/detection-shapes-compact img.png photos/
    trident detection predict --model saved_models/detection-shapes-compact photos/ --output out/ --confidence 0.4

For each image, writes OUTPUT/<name> with boxes, class names and scores drawn on a copy,
and OUTPUT/detections.json with boxes in the original image's pixels (xyxy).
"""

import os

from PIL import Image

from shared.explain.explainer import box_score
from shared.io import write_bytes
from shared.reports.draw import draw_boxes, png_bytes


MAX_EXPLAINED = 5  # heat maps per image: the highest-scoring detections


def add_arguments(parser):
    parser.add_argument("--output", default="predictions", help="folder for drawn images and detections.json")
    parser.add_argument("--confidence", type=float, default=None, help="lowest score kept (default: the "
                        "threshold of best F1 on the val split, fitted after training, else 0.25; run folders only; "
                        "an export keeps the threshold it was exported with)")
    parser.add_argument("--explain", action="store_true",
                        help="also write, for each of the best detections, a heat map of what made the detector "
                             "find it: OUTPUT/<stem>_why_<n>_<class>.png (run folders only)")


def predictions(options, predictor, explainer):
    """`predict`'s handler: draw and return an image's detections (see `shared.task.Task.predictions`)."""
    detect, names, output = predictor.answer, predictor.class_names, options["output"]
    os.makedirs(output, exist_ok=True)

    def handle(path, image):
        out = detect(image[None])
        n = int(out["num_detections"][0])
        boxes, scores, classes = out["boxes"][0][:n], out["scores"][0][:n], out["classes"][0][:n]
        target = os.path.join(output, os.path.splitext(os.path.basename(path))[0] + ".png")
        write_bytes(target, png_bytes(Image.fromarray(draw_boxes(image, boxes, classes, names, scores))))
        detections = [{"class": names[int(c)], "class_id": int(c), "score": float(s),
                       "box": [round(float(v), 2) for v in b]} for b, s, c in zip(boxes, scores, classes)]
        summary = ", ".join(f"{d['class']} {d['score']:.2f}" for d in detections[:8]) or "nothing"
        print(f"{path}: {len(detections)} detection(s): {summary}")
        if explainer is not None:
            best = list(range(min(MAX_EXPLAINED, n)))
            heats = explainer.images([image] * len(best), [box_score(int(classes[j]), boxes[j]) for j in best])
            for j, heat in zip(best, heats):
                shown = draw_boxes(image, boxes[j:j + 1], classes[j:j + 1], names, scores[j:j + 1])
                detections[j]["explanation"] = explainer.write(output, path, shown, heat,
                                                               f"{j}_{names[int(classes[j])]}")
        return {"image": path, "width": image.shape[1], "height": image.shape[0], "drawn": target,
                "detections": detections}

    return handle, os.path.join(output, "detections.json"), f"Drawn images and detections.json in {output}"
