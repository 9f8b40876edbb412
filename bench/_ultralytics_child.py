"""The Ultralytics side of `bench/yolo26_side_by_side.py`, run with a Python that has `ultralytics`
(and not Trident): times `YOLO.predict` end to end on each image of an `.npy` stack whenever a
line "time" arrives on standard input, and prints one JSON line per round.

    PYTHON bench/_ultralytics_child.py IMAGES.npy yolo26n.yaml [THREADS]

THREADS: PyTorch's threads once the predictor is set up (default: Ultralytics' own choice, which on
a CPU is one less than the cores).
"""

import json
import os
import statistics
import sys
import time

os.environ.setdefault("YOLO_OFFLINE", "1")


def main(images_path, model_path, threads=None):
    import numpy as np
    import torch
    from ultralytics import YOLO

    images = np.load(images_path)[..., ::-1].copy()  # Ultralytics takes arrays as OpenCV's BGR
    model = YOLO(model_path)  # a .yaml builds the network untrained: the same work per image
    head = model.model.model[-1]
    if model_path.endswith(".yaml") and model.model.yaml.get("end2end") and hasattr(head, "end2end"):
        head.end2end = True  # as its trained weights are served: the one-to-one head, no NMS
    size = images.shape[1]

    def predict(image):
        return model.predict(image, imgsz=size, device="cpu", verbose=False)[0]

    for image in images[:3]:  # warm-up; the predictor's device setup also sets PyTorch's threads
        predict(image)
    if threads:
        torch.set_num_threads(int(threads))
    print(json.dumps({"ready": True, "parameters": sum(p.numel() for p in model.model.parameters()),
                      "threads": torch.get_num_threads(), "end2end": bool(getattr(head, "end2end", False))}),
          flush=True)
    for line in sys.stdin:
        if line.strip() != "time":
            break
        times, stages = [], []
        for image in images:
            start = time.perf_counter()
            result = predict(image)
            times.append(1000 * (time.perf_counter() - start))
            stages.append(result.speed)
        print(json.dumps({"median_ms": statistics.median(times),
                          "stages_ms": {k: statistics.median(s[k] for s in stages) for k in stages[0]}}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
