"""The one image decode: formats, bit depths, EXIF orientation, reduced-scale JPEGs."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from shared.data.decode import decode_file, decode_image, exif_orientation
from shared.data.images import find_unreadable, oriented_size, read_image
from shared.data.imageset import ImageSet
from shared.data.pipeline import image_dataset


def quadrants(height=32, width=48):
    """An image whose four quadrants have distinct colours, so any turn or mirror shows."""
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:] = (250, 20, 20), (20, 250, 20)
    image[h:, :w], image[h:, w:] = (20, 20, 250), (240, 240, 30)
    return image


def save_jpeg(path, image, orientation=None):
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    Image.fromarray(image).save(path, quality=95, exif=exif)
    return str(path)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_a_photo_viewer(tmp_path, orientation):
    path = save_jpeg(tmp_path / "photo.jpg", quadrants(), orientation)
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), np.float32)
    decoded = read_image(path)
    assert decoded.shape == expected.shape
    assert np.abs(decoded.astype(np.float32) - expected).mean() < 4  # two JPEG decoders, same pixels
    assert oriented_size(path) == decoded.shape[:2]
    assert int(exif_orientation(tf.io.read_file(path))) == orientation


def test_bytes_that_merely_resemble_an_orientation_entry_do_not_turn_a_png(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(quadrants()).save(path)
    assert int(exif_orientation(tf.io.read_file(str(path)))) == 1
    np.testing.assert_array_equal(read_image(str(path)), quadrants())


def test_sixteen_bit_png_is_scaled_to_eight_bits_everywhere(tmp_path):
    values = np.array([[0, 256, 32768, 65535]], np.uint16).repeat(4, 0)
    path = str(tmp_path / "deep.png")
    Image.fromarray(values).save(path)
    decoded = read_image(path)
    np.testing.assert_array_equal(decoded[0, :, 0], [0, 1, 128, 255])
    assert (decoded[..., 0] == decoded[..., 2]).all()
    # The training pipeline sees the same pixels as predict and the reports.
    batch, _ = next(iter(image_dataset(ImageSet(labels=[0], class_names=["a", "b"], paths=[path]), 4, 1)))
    np.testing.assert_allclose(batch[0].numpy(), decoded.astype(np.float32), atol=1e-3)


def test_palette_alpha_and_lying_extension_decode_by_content(tmp_path):
    rgba = np.dstack([quadrants(), np.full((32, 48), 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(quadrants()).convert("P").save(tmp_path / "palette.png")
    Image.fromarray(quadrants()).save(tmp_path / "really_png.jpg", format="PNG")
    np.testing.assert_array_equal(read_image(str(tmp_path / "alpha.png")), quadrants())
    np.testing.assert_array_equal(read_image(str(tmp_path / "really_png.jpg")), quadrants())
    with Image.open(tmp_path / "palette.png") as image:
        colours = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(read_image(str(tmp_path / "palette.png")), colours)


def test_cmyk_jpeg_decodes_to_the_colours_pil_shows(tmp_path):
    path = str(tmp_path / "print.jpg")
    Image.fromarray(quadrants()).convert("CMYK").save(path, quality=95)
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB"), np.float32)
    assert np.abs(read_image(path).astype(np.float32) - expected).mean() < 4


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    path = save_jpeg(tmp_path / "big.jpg", quadrants(384, 512))
    data = tf.io.read_file(path)
    assert decode_image(data).shape == (384, 512, 3)
    assert decode_image(data, min_side=64).shape == (96, 128, 3)  # 1/4: the short side stays >= 64
    assert decode_image(data, min_side=64, side="long").shape == (48, 64, 3)  # letterbox: long side >= 64
    assert decode_image(data, min_side=400).shape == (384, 512, 3)  # never below the size asked for
    small = decode_file(path, min_side=64).astype(np.float32)
    full = tf.image.resize(decode_file(path)[None].astype(np.float32), (96, 128), antialias=True)[0].numpy()
    assert np.abs(small - full).mean() < 6  # the same scene, not a different crop


def test_truncated_and_garbage_files_are_found_with_a_reason(tmp_path):
    good = save_jpeg(tmp_path / "good.jpg", quadrants(64, 64))
    data = open(good, "rb").read()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    problems = find_unreadable([good, str(tmp_path / "cut.jpg"), str(tmp_path / "junk.png")])
    assert set(problems) == {str(tmp_path / "cut.jpg"), str(tmp_path / "junk.png")}
    assert all(reason for reason in problems.values())
