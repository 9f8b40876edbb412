"""Sections of the data inspection an instance segmenter needs: objects per image, mask areas, masks that
overlap, and what reading fixed (empty masks, polygons reaching outside the image, crowd regions)."""

import numpy as np


def instance_sections(max_boxes):
    def extra(report, splits, info, findings):
        import matplotlib.pyplot as plt

        per_image, areas, relative, overlapping, crowded = [], [], [], [], []
        for part in splits.values():
            for i in range(len(part)):
                count = len(part.boxes[i])
                per_image.append(count)
                if count > max_boxes:
                    crowded.append([part.name(i), count])
                if not count:
                    continue
                stack = part.masks[i].stack()
                pixels = stack.reshape(count, -1).sum(1)
                areas += pixels.tolist()
                height, width = part.sizes[i]
                relative += np.sqrt(pixels / max(1.0, height * width)).tolist()
                shared = int((stack.sum(0) > 1).sum())
                if shared:
                    overlapping.append([part.name(i), shared])
        per_image, areas = np.asarray(per_image or [0]), np.asarray(areas or [0])
        if crowded:
            findings["warnings"].append(f"{len(crowded)} image(s) hold more than {max_boxes} objects; training keeps "
                                        f"the first {max_boxes} (raise --max-boxes)")
        if overlapping:
            findings["warnings"].append(f"{len(overlapping)} image(s) have objects whose masks overlap; the training "
                                     "target keeps the later object's pixels")
        if info.get("fixes"):
            findings["warnings"].append("annotations fixed while reading: " + ", ".join(
                f"{k}: {v}" for k, v in info["fixes"].items()))
        small = int((areas < 32 * 32).sum())
        report.table("Objects", ["measure", "value"], [
            ["objects", int(per_image.sum())],
            ["objects per image (median / max)", f"{np.median(per_image):.0f} / {per_image.max()}"],
            ["images without objects", int((per_image == 0).sum())],
            ["mask area in pixels (p10 / median / p90)",
             f"{np.percentile(areas, 10):.0f} / {np.median(areas):.0f} / {np.percentile(areas, 90):.0f}"],
            ["small objects (COCO: area under 32x32 pixels)", f"{small} ({small / max(1, len(areas)):.0%})"],
            ["images with overlapping masks", len(overlapping)]])
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        axes[0].hist(per_image, bins=min(40, max(1, int(per_image.max()) + 1)), color="#4c72b0")
        axes[0].set_xlabel("objects per image")
        axes[1].hist(np.sqrt(areas), bins=40, color="#55a868")
        axes[1].set_xlabel("square root of mask area (pixels)")
        report.figure("Objects per image and mask sizes", fig, "instances")
        if info.get("fixes"):
            report.table("Fixes applied while reading", ["fix", "count"], list(info["fixes"].items()))
        if overlapping:
            report.table("Images with overlapping masks", ["image", "pixels in two or more masks"], overlapping[:50])
        report.record("instances", {"per_image_median": float(np.median(per_image)),
                                    "max_per_image": int(per_image.max()), "area_median": float(np.median(areas)),
                                    "small": small, "overlapping": overlapping, "crowded": crowded})

    return extra
