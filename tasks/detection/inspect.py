"""Sections of the data inspection a detector needs: boxes per image, box sizes, fixes, crowded images."""

import numpy as np


def box_sections(max_boxes):
    """The detection sections: boxes per image, relative box sizes, fixes, crowded images."""

    def extra(report, splits, info, findings):
        import matplotlib.pyplot as plt

        per_image = np.array([len(b) for part in splits.values() for b in part.boxes])
        relative = []
        for part in splits.values():
            for boxes, (height, width) in zip(part.boxes, part.sizes):
                boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
                area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                relative += np.sqrt(np.maximum(area, 0) / max(1.0, height * width)).tolist()
        crowded = [[part.name(i), len(b)] for part in splits.values() for i, b in enumerate(part.boxes)
                   if len(b) > max_boxes]
        if crowded:
            findings["warnings"].append(f"{len(crowded)} image(s) hold more than {max_boxes} objects; training keeps "
                                        f"the first {max_boxes} (raise --max-boxes)")
        if info.get("fixes"):
            findings["warnings"].append("annotations fixed while reading: " + ", ".join(
                f"{k}: {v}" for k, v in info["fixes"].items()))
        empty = int((per_image == 0).sum())
        rel = np.array(relative) if relative else np.zeros(1)
        report.table("Boxes", ["measure", "value"], [
            ["objects", int(per_image.sum())], ["boxes per image (median / max)",
                                                f"{np.median(per_image):.0f} / "
                                                f"{per_image.max() if len(per_image) else 0}"],
            ["images without objects", empty],
            ["box size / image size (sqrt of area; p10 / median / p90)",
             f"{np.percentile(rel, 10):.3f} / {np.median(rel):.3f} / {np.percentile(rel, 90):.3f}"],
            ["objects smaller than 2% of the image side", int((rel < 0.02).sum())]])
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        axes[0].hist(per_image, bins=min(40, max(1, int(per_image.max()) + 1)), color="#4c72b0")
        axes[0].set_xlabel("objects per image")
        axes[1].hist(rel, bins=40, color="#55a868")
        axes[1].set_xlabel("box side relative to image side")
        report.figure("Boxes per image and box sizes", fig, "boxes")
        if info.get("fixes"):
            report.table("Fixes applied while reading", ["fix", "count"], list(info["fixes"].items()))
        if crowded:
            report.table(f"Images with more than {max_boxes} objects", ["image", "objects"], crowded[:50])
        report.record("boxes", {"per_image_median": float(np.median(per_image)), "max_per_image": int(per_image.max()),
                                "relative_size_median": float(np.median(rel)), "crowded": crowded})

    return extra
