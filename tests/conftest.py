"""Shared fixtures (the data writers are in `tests/factories.py`), quiet TensorFlow, and the `large` marker."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.factories import write_class_folders  # noqa: E402


@pytest.fixture
def class_folder(tmp_path):
    """`tmp/data/<class>/<i>.png|jpg`: 3 classes x 6 images of 24 px."""
    return write_class_folders(tmp_path / "data")
