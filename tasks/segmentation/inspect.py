"""Inspect segmentation data: counts, sizes, broken files, duplicates, pixel share per class.

    trident segmentation inspect --data masks_folder/
    trident segmentation inspect --data set.yaml

Reads the data exactly as `train` would (masks that are lossy or hold values outside the
class table are refused, and reported) and writes report.{json,md,html}; exits with
status 1 when it finds problems.
"""

import numpy as np

from shared.config import inspect_args_parser
from shared.data.segmentation import IGNORE, load_segmentation_data
from shared.inspect_flow import inspect_data, print_findings


def get_args_parser():
    parser = inspect_args_parser("trident segmentation inspect", __doc__)
    parser.add_argument("--images", help="image folder for a COCO JSON given as --data")
    return parser


class PixelCounts:
    """Classes present per mask, counting pixels on the way (each mask is read once)."""

    def __init__(self):
        self.pixels, self.ignored = None, 0

    def __call__(self, part, index):
        mask = np.asarray(part.mask(index))
        counts = np.bincount(mask.ravel(), minlength=256)
        if self.pixels is None:
            self.pixels = np.zeros(len(part.class_names), np.int64)
        self.pixels += counts[:len(part.class_names)]
        self.ignored += int(counts[IGNORE])
        return [k for k in range(len(part.class_names)) if counts[k]]

    def section(self, report, splits, info, findings):
        total = max(1, int(self.pixels.sum()) + self.ignored) if self.pixels is not None else 1
        names = info["class_names"]
        rows = [[name, int(self.pixels[k]), self.pixels[k] / total] for k, name in enumerate(names)]
        rows.append(["(ignored, 255)", self.ignored, self.ignored / total])
        report.table("Pixel share per class", ["class", "pixels", "share"], rows)
        rare = [name for k, name in enumerate(names) if self.pixels[k] / total < 0.001]
        if rare:
            findings["warnings"].append(f"class(es) covering under 0.1% of the pixels: {', '.join(rare)}")
        report.record("pixels", {row[0]: row[1] for row in rows})


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    counter = PixelCounts()
    paths, findings = inspect_data(
        "segmentation", args.data,
        lambda spec: load_segmentation_data(spec, args.seed, args.val_fraction, args.test_fraction, args.images),
        counter, counter.section, output=args.output)
    return print_findings(paths, findings)


if __name__ == "__main__":
    main()
