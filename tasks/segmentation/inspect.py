"""Sections of the data inspection a segmenter needs: pixel share per class, masks holding each class."""

import numpy as np

from shared.data.segmentation import IGNORE


class PixelCounts:
    """Classes present per mask, counting pixels on the way (each mask is read once)."""

    def __init__(self):
        self.pixels, self.ignored, self.masks, self.present = None, 0, 0, None

    def __call__(self, part, index):
        mask = np.asarray(part.mask(index))
        counts = np.bincount(mask.ravel(), minlength=256)
        if self.pixels is None:
            self.pixels = np.zeros(len(part.class_names), np.int64)
            self.present = np.zeros(len(part.class_names), np.int64)
        self.pixels += counts[:len(part.class_names)]
        self.present += counts[:len(part.class_names)] > 0
        self.masks += 1
        self.ignored += int(counts[IGNORE])
        return [k for k in range(len(part.class_names)) if counts[k]]

    def section(self, report, splits, info, findings):
        total = max(1, int(self.pixels.sum()) + self.ignored) if self.pixels is not None else 1
        names = info["class_names"]
        if self.pixels is None:
            return
        rows = [[name, int(self.pixels[k]), self.pixels[k] / total, int(self.present[k])]
                for k, name in enumerate(names)]
        rows.append(["(ignored, 255)", self.ignored, self.ignored / total, "-"])
        report.table("Pixel share per class", ["class", "pixels", "share", "masks holding it"], rows)
        for k, name in enumerate(names):
            if 0 < self.present[k] < 0.25 * self.masks and self.pixels[k] / total < 0.01:
                findings["warnings"].append(
                    f"class {name} appears in only {self.present[k]} of {self.masks} masks "
                    f"({self.pixels[k] / total:.2%} "
                    "of the pixels): if it marks unannotated pixels, map its value to 255 (ignore) in a dataset YAML "
                    "(`mask_values:`, or `colors:` with `255: [r, g, b]`)")
        rare = [name for k, name in enumerate(names) if self.pixels[k] / total < 0.001]
        if rare:
            findings["warnings"].append(f"class(es) covering under 0.1% of the pixels: {', '.join(rare)}")
        report.record("pixels", {row[0]: row[1] for row in rows})
        report.record("masks_holding", {name: int(self.present[k]) for k, name in enumerate(names)})
