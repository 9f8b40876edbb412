import numpy as np
import tensorflow as tf

from shared.data.augment import ZOOM, augment_batch, augmented

BATCH, SIDE = 16, 64


def squares():
    """Dark images, each with one bright square (a random place and size), its box, and its map."""
    rng = np.random.default_rng(0)
    images = np.full((BATCH, SIDE, SIDE, 3), 20.0, np.float32)
    boxes = np.full((BATCH, 2, 4), -1.0, np.float32)
    labels = np.full((BATCH, 2), -1, np.int32)
    maps = np.zeros((BATCH, SIDE, SIDE), np.int32)
    for i in range(BATCH):
        size = int(rng.integers(12, 24))
        x0, y0 = (int(v) for v in rng.integers(8, SIDE - 8 - size, 2))
        images[i, y0:y0 + size, x0:x0 + size] = 230.0
        maps[i, y0:y0 + size, x0:x0 + size] = 1
        boxes[i, 0], labels[i, 0] = (x0, y0, x0 + size, y0 + size), 0
    return images, boxes, labels, maps


def draw(value):
    return tf.constant([value, 7], tf.int64)


def test_boxes_and_maps_move_with_their_image():
    images, boxes, labels, maps = squares()
    small = maps[:, 2::4, 2::4]  # on a grid 4 times coarser (the instance task's mask stride), cell centres
    for value in range(3):
        out, moved, kept, full = augment_batch(["flip", "crop"], draw(value), images, boxes, labels, maps)
        _, _, _, coarse = augment_batch(["flip", "crop"], draw(value), images, boxes, labels, small)
        out, moved, kept, full, coarse = (t.numpy() for t in (out, moved, kept, full, coarse))
        for i in range(BATCH):
            bright = out[i, ..., 0] > 125
            assert ((full[i] == 1) == bright).mean() > 0.98  # nearest map against the bilinear image: edges only
            if kept[i, 0] < 0:  # pushed out of the image: dropped with its box
                assert (moved[i, 0] == -1).all() and bright.sum() < 2 * SIDE
                continue
            ys, xs = np.nonzero(bright)
            found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
            np.testing.assert_allclose(moved[i, 0], found, atol=1.6)
            sampled = full[i, 2::4, 2::4]  # the coarse map moved by the same warp, within its cells' rounding
            assert (coarse[i] == sampled).mean() > 0.9
            np.testing.assert_allclose(np.argwhere(coarse[i]).mean(0), np.argwhere(sampled).mean(0), atol=1.01)
        assert (moved[:, 1] == -1).all() and (kept[:, 1] == -1).all()  # padding stays padding
        beyond = full == 0
        assert (np.abs(out[..., 0][beyond] - 20) < 1).mean() > 0.5 or (np.abs(out[..., 0][beyond] - 114) < 1).any()


def test_zoom_out_fills_gray_and_the_map_with_its_fill_value():
    images = np.full((BATCH, SIDE, SIDE, 3), 200.0, np.float32)
    maps = np.ones((BATCH, SIDE, SIDE, 1), np.int32)
    out, _, _, warped = augment_batch(["crop"], draw(1), images, maps=maps, map_fill=255)
    out, warped = out.numpy(), warped.numpy()
    assert warped.shape == maps.shape and set(np.unique(warped)) <= {1, 255}
    assert (warped == 255).any(), "a zoom of 0.8 .. 1.4 over 16 images shows beyond the image somewhere"
    np.testing.assert_allclose(out[..., 0][warped[..., 0] == 255].mean(), 114, atol=30)
    assert (out[..., 0][warped[..., 0] == 1] > 150).mean() > 0.95
    assert ZOOM[0] < 1 < ZOOM[1]


def test_every_task_gets_the_same_draws_for_its_images():
    images, boxes, labels, maps = squares()
    names = ["flip", "crop", "color"]
    alone = augment_batch(names, draw(5), images)[0].numpy()
    with_boxes = augment_batch(names, draw(5), images, boxes, labels)[0].numpy()
    with_maps = augment_batch(names, draw(5), images, maps=maps)[0].numpy()
    np.testing.assert_array_equal(alone, with_boxes)
    np.testing.assert_array_equal(alone, with_maps)
    assert not np.array_equal(alone, augment_batch(names, draw(6), images)[0].numpy())
    assert alone.min() >= 0 and alone.max() <= 255


def test_draws_follow_the_seed_and_change_each_epoch():
    images = np.random.default_rng(1).uniform(0, 255, (8, 16, 16, 3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices((images, np.arange(8))).batch(4)

    def epochs(seed):
        ds = augmented(batches, ["flip", "crop", "color"], seed, lambda d, x, y: (augment_batch(["crop"], d, x)[0], y))
        return [np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2)]

    first, second = epochs(3)
    again = epochs(3)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, second) and not np.array_equal(first, epochs(4)[0])
    assert augmented(batches, [], 3, None) is batches
