"""Find each object and its mask in images; draw them and write a JSON of objects.

    trident instance predict --model runs/instance-shapes-compact img.png photos/
    trident instance predict --model saved_models/instance-shapes-compact photos/ --output out/

For each image, writes OUTPUT/<name>.png with the masks, boxes, classes and scores drawn,
OUTPUT/<name>_instances.png (16-bit: 0 background, k the k-th object; later objects over
earlier ones), and OUTPUT/instances.json with each object's box (xyxy, the image's pixels),
class, score, area and mask as COCO RLE.
"""

import os

import numpy as np
from PIL import Image

from shared.explain.explainer import box_score
from shared.io import write_bytes
from shared.reports.draw import png_bytes
from tasks.instance.draw import draw_instances
from tasks.instance.masks import encode

MAX_EXPLAINED = 5


def add_arguments(parser):
    parser.add_argument("--output", default="predictions", help="folder for drawn images, id maps and "
                        "instances.json")
    parser.add_argument("--confidence", type=float, default=None, help="lowest score kept (default: the "
                        "threshold of best F1 on the val split, fitted after training, else 0.25; run folders only; "
                        "an export keeps the threshold it was exported with)")
    parser.add_argument("--explain", action="store_true",
                        help="also write, for each of the best objects, a heat map of what made the model find it "
                             "(run folders only)")


def id_map(masks):
    """`uint16 [H, W]`: k + 1 where object k is (later objects over earlier ones)."""
    out = np.zeros(masks.shape[1:], np.uint16)
    for k, mask in enumerate(masks):
        out[mask > 0] = k + 1
    return out


def predictions(options, predictor, explainer):
    """`predict`'s handler (see `shared.task.Task.predictions`)."""
    segment, names, output = predictor.answer, predictor.class_names, options["output"]
    os.makedirs(output, exist_ok=True)

    def handle(path, image):
        out = segment(image[None])
        n = int(out["num_detections"][0])
        boxes, scores, classes = out["boxes"][0][:n], out["scores"][0][:n], out["classes"][0][:n]
        masks = np.asarray(out["masks"][0][:n])
        stem = os.path.splitext(os.path.basename(path))[0]
        target = os.path.join(output, stem + ".png")
        write_bytes(target, png_bytes(Image.fromarray(draw_instances(image, masks, boxes, classes, names, scores))))
        write_bytes(os.path.join(output, stem + "_instances.png"), png_bytes(Image.fromarray(id_map(masks))))
        objects = [{"class": names[int(c)], "class_id": int(c), "score": float(s),
                    "box": [round(float(v), 2) for v in b], "area": int(m.sum()), "mask": encode(m > 0)}
                   for b, s, c, m in zip(boxes, scores, classes, masks)]
        summary = ", ".join(f"{o['class']} {o['score']:.2f}" for o in objects[:8]) or "nothing"
        print(f"{path}: {len(objects)} object(s): {summary}")
        if explainer is not None:
            best = list(range(min(MAX_EXPLAINED, n)))
            heats = explainer.images([image] * len(best), [box_score(int(classes[j]), boxes[j]) for j in best])
            for j, heat in zip(best, heats):
                shown = draw_instances(image, masks[j:j + 1], boxes[j:j + 1], classes[j:j + 1], names, scores[j:j + 1])
                objects[j]["explanation"] = explainer.write(output, path, shown, heat, f"{j}_{names[int(classes[j])]}")
        return {"image": path, "width": image.shape[1], "height": image.shape[0], "drawn": target,
                "instances": objects}

    return handle, os.path.join(output, "instances.json"), f"Drawn images, id maps and instances.json in {output}"
