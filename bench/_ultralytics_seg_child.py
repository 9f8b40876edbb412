"""The Ultralytics side of the instance-segmentation reference in `bench/real_data_reference.py`, run
with a Python that has `ultralytics` (and not Trident): trains YOLO26n-seg from scratch on the run's own
train and val splits for a wall-clock budget, then answers every test image.

    PYTHON bench/_ultralytics_seg_child.py SPEC.json

SPEC.json: `{"splits": {"train"|"val"|"test": [[image, id map PNG, [class of object k]...], ...]},
"names": [...], "budget_seconds": s, "image_size": px, "out": folder}`. Each object of an id map
(16-bit PNG, k + 1 where object k is) becomes its largest outer contour as a YOLO polygon. Writes
`out/answers/<i>.npz` per test image (boxes xyxy, scores, classes, masks bit-packed at the image's own
size) and prints one JSON line with what training did.
"""

import json
import os
import sys
import time

os.environ.setdefault("YOLO_OFFLINE", "1")


def write_yolo(spec, out):
    import cv2
    import numpy as np

    for split in ("train", "val"):
        os.makedirs(os.path.join(out, "images", split), exist_ok=True)
        os.makedirs(os.path.join(out, "labels", split), exist_ok=True)
        for i, (image, ids_path, classes) in enumerate(spec["splits"][split]):
            stem = f"{i:05d}"
            link = os.path.join(out, "images", split, stem + os.path.splitext(image)[1])
            if not os.path.exists(link):
                os.symlink(os.path.abspath(image), link)
            ids = cv2.imread(ids_path, cv2.IMREAD_UNCHANGED).astype(np.int64)
            height, width = ids.shape[:2]
            lines = []
            for k, cls in enumerate(classes):
                mask = (ids == k + 1).astype(np.uint8)
                contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                if not contours:
                    continue
                points = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
                if len(points) < 3:
                    continue
                points /= [width, height]
                lines.append(" ".join([str(int(cls))] + [f"{v:.6f}" for v in points.reshape(-1)]))
            with open(os.path.join(out, "labels", split, stem + ".txt"), "w") as f:
                f.write("\n".join(lines) + ("\n" if lines else ""))
    data = os.path.join(out, "data.yaml")
    with open(data, "w") as f:
        json.dump({"path": out, "train": "images/train", "val": "images/val",
                   "names": {k: n for k, n in enumerate(spec["names"])}}, f)
    return data


def main(spec_path):
    import numpy as np
    from ultralytics import YOLO

    with open(spec_path) as f:
        spec = json.load(f)
    out = spec["out"]
    data = write_yolo(spec, out)
    model = YOLO("yolo26n-seg.yaml")  # built untrained: nothing to download
    start = time.monotonic()
    model.train(data=data, epochs=1000, time=spec["budget_seconds"] / 3600, imgsz=spec["image_size"], device="cpu",
                batch=16, workers=2, pretrained=False, amp=False, plots=False, project=out, name="train",
                exist_ok=True, verbose=False)
    seconds = time.monotonic() - start
    weights = os.path.join(out, "train", "weights")
    best = YOLO(os.path.join(weights, "best.pt" if os.path.isfile(os.path.join(weights, "best.pt")) else "last.pt"))
    answers = os.path.join(out, "answers")
    os.makedirs(answers, exist_ok=True)
    for i, (image, _, _) in enumerate(spec["splits"]["test"]):
        result = best.predict(image, imgsz=spec["image_size"], conf=0.001, max_det=300, retina_masks=True,
                              device="cpu", verbose=False)[0]
        height, width = result.orig_shape
        masks = result.masks.data.cpu().numpy() > 0.5 if result.masks is not None else np.zeros((0, height, width))
        np.savez_compressed(os.path.join(answers, f"{i}.npz"), boxes=result.boxes.xyxy.cpu().numpy(),
                            scores=result.boxes.conf.cpu().numpy(), classes=result.boxes.cls.cpu().numpy(),
                            masks=np.packbits(masks.astype(bool), axis=-1), shape=np.array(masks.shape))
    with open(os.path.join(out, "train", "results.csv")) as f:
        epochs = sum(1 for line in f if line.strip()) - 1  # one row per finished epoch after the header
    print(json.dumps({"train_seconds": round(seconds, 1), "epochs": epochs}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
