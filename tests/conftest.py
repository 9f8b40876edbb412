"""Shared fixtures (the data writers are in `tests/factories.py`), quiet TensorFlow, and the `large` tests first."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.factories import write_class_folders  # noqa: E402


@pytest.fixture
def class_folder(tmp_path):
    """`tmp/data/<class>/<i>.png|jpg`: 3 classes x 6 images of 24 px."""
    return write_class_folders(tmp_path / "data")


def pytest_collection_modifyitems(items):
    """Run the `large` tests (seconds to minutes each) before the small ones, in collection order otherwise:
    with two test processes, a long test handed out last would leave the other process idle at the end,
    where small tests fill the gap between two long ones."""
    items.sort(key=lambda item: item.get_closest_marker("large") is None)
