"""One dataset base for every task's sets: subsets keep items aligned, tallies start afresh, `check` skips
files that do not decode the same way for all three."""

import numpy as np
from PIL import Image

from shared.data.boxes import FixCounter
from shared.data.detection import DetectionSet
from shared.data.imageset import ImageSet
from shared.data.segmentation import SegmentationSet


def files(tmp_path, count=3, broken=1):
    """`count` PNGs of 8 px, the image of index `broken` cut short."""
    paths = []
    for i in range(count):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(path)
        if i == broken:
            path.write_bytes(path.read_bytes()[:30])
        paths.append(str(path))
    return paths


def sets(paths):
    masks = [np.full((8, 8), i % 2, np.uint8) for i in range(len(paths))]
    return [ImageSet(labels=[0, 1, 0], class_names=["a", "b"], paths=list(paths)),
            DetectionSet(["a"], [np.zeros((i, 4)) for i in range(3)], [np.zeros(i) for i in range(3)],
                         [(8, 8)] * 3, paths=list(paths), fixes=FixCounter({"boxes clipped to the image": 2})),
            SegmentationSet(["a", "b"], [(0, 0, 0), (9, 9, 9)], paths=list(paths), mask_arrays=masks)]


def test_subsets_keep_every_item_field_aligned_and_start_their_tallies_afresh(tmp_path):
    paths = files(tmp_path, broken=None)
    for data in sets(paths):
        data.skipped.append((paths[0], "earlier"))
        part = data.subset([2, 0])
        assert len(part) == 2 and part.name(0) == data.name(2) and part.skipped == []
        assert part.location(0) == paths[2]  # the whole path, for a link in a report
        np.testing.assert_array_equal(part.image(1), data.image(0))
        if isinstance(data, DetectionSet):
            assert len(part.boxes[0]) == 2 and not part.fixes and data.fixes  # the whole keeps its count
        if isinstance(data, SegmentationSet):
            np.testing.assert_array_equal(part.mask(0), data.mask(2))
        if isinstance(data, ImageSet):
            assert part.labels.tolist() == [0, 0]


def test_every_set_checks_its_files_the_same_way(tmp_path):
    paths = files(tmp_path, broken=1)
    for data in sets(paths):
        assert data.check() is data and len(data) == 2
        assert [path for path, _ in data.skipped] == [paths[1]]
        assert data.paths == [paths[0], paths[2]]
        if isinstance(data, DetectionSet):
            assert [len(b) for b in data.boxes] == [0, 2] and data.fixes["boxes clipped to the image"] == 2
        if isinstance(data, SegmentationSet):
            assert [int(m.max()) for m in data.mask_arrays] == [0, 0]  # the masks of images 0 and 2
