import os

import pytest

from shared.io import atomic_path, read_json, write_json, write_text


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    write_json(target, {"version": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write('{"version": 2, "half')
            raise RuntimeError("killed mid-write")
    assert read_json(target) == {"version": 1}
    assert os.listdir(tmp_path) == ["report.json"]


def test_atomic_folder_replaces_whole(tmp_path):
    target = tmp_path / "figures"
    for content in ("old", "new"):
        with atomic_path(target) as tmp:
            os.makedirs(tmp)
            write_text(os.path.join(tmp, "a.txt"), content)
    assert (target / "a.txt").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["figures"]
