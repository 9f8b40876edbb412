"""Regular files only: a FIFO, a socket, a device or a link loop in a data folder is skipped and named,
never opened; a label file that is one is refused naming it.

A reader that opened a FIFO would wait for a writer for ever: each FIFO case has a thread that
opens the writing end after a while, so a regression ends (with a wrong reason) instead of hanging.
The `/dev/zero` case runs in a child process under a memory limit, so a regression that reads the
device whole fails there instead of taking the machine down.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from shared.data.classification import load_classification_data
from shared.data.detection import load_detection_data
from shared.data.files import not_regular, outside_allowed
from shared.data.segmentation import load_segmentation_data
from shared.errors import TridentError
from tests.factories import write_detection_data, write_segmentation_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def unblock():
    """Open the writing end of each FIFO handed to it after 20 s (ending a reader stuck on it)."""
    timers = []

    def later(path):
        def release():
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK) if _has_reader(path) else None
            if fd is not None:
                os.close(fd)
        timer = threading.Timer(20, release)
        timer.start()
        timers.append(timer)

    yield later
    for timer in timers:
        timer.cancel()


def _has_reader(path):
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        return True
    except OSError:  # ENXIO: nobody reads it
        return False


def test_special_entries_in_a_class_folder_are_skipped_and_named(class_folder, unblock, tmp_path):
    folder = os.path.join(class_folder, "dots")
    fifo, loop, sock = (os.path.join(folder, name) for name in ("pipe.jpg", "loop.png", "socket.png"))
    os.mkfifo(fifo)
    unblock(fifo)
    os.symlink(loop, loop)  # a link to itself
    server = socket.socket(socket.AF_UNIX)
    server.bind(sock)
    try:
        splits, info = load_classification_data(class_folder, seed=0, val_fraction=0.2, test_fraction=0.2)
    finally:
        server.close()
    reasons = dict(map(tuple, info["skipped"]))
    assert reasons == {fifo: "not a regular file: a FIFO (named pipe)", loop: "a symbolic link loop",
                       sock: "not a regular file: a socket"}
    assert sum(info["counts"].values()) == 18
    assert all(path not in part.paths for part in splits.values() for path in reasons)


def test_a_fifo_named_in_a_csv_is_skipped_and_a_fifo_csv_refused(class_folder, unblock, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    unblock(str(fifo))
    rows = [f"{os.path.join(class_folder, kind, f'{i}.png')},{kind}" for kind in ("bars", "dots") for i in (0, 2, 4)]
    listing = tmp_path / "data.csv"
    listing.write_text("path,label\n" + "\n".join(rows + [f"{fifo},dots"]) + "\n")
    _, info = load_classification_data(str(listing), seed=0, val_fraction=0.2, test_fraction=0.2)
    assert [tuple(row) for row in info["skipped"]] == [(str(fifo), "not a regular file: a FIFO (named pipe)")]
    fifo_csv = tmp_path / "pipe.csv"
    os.mkfifo(fifo_csv)
    unblock(str(fifo_csv))
    with pytest.raises(TridentError, match=r"CSV file .*pipe.csv cannot be read: not a regular file: a FIFO"):
        load_classification_data(str(fifo_csv))


def test_label_files_that_are_not_regular_are_refused_by_name(tmp_path, unblock):
    coco = write_detection_data(tmp_path / "coco", fmt="coco")
    fifo = tmp_path / "annotations.json"
    os.mkfifo(fifo)
    unblock(str(fifo))
    with pytest.raises(TridentError, match="COCO file .*annotations.json cannot be read: not a regular file"):
        load_detection_data(str(fifo), images_dir=os.path.dirname(coco))
    voc = write_detection_data(tmp_path / "voc", fmt="voc")
    xml = os.path.join(voc, "annotations", sorted(os.listdir(os.path.join(voc, "annotations")))[0])
    os.remove(xml)
    os.mkfifo(xml)
    unblock(xml)
    with pytest.raises(TridentError, match="VOC file .* cannot be read: not a regular file: a FIFO"):
        load_detection_data(voc)


def test_a_fifo_among_segmentation_images_is_skipped_and_a_fifo_mask_refused(tmp_path, unblock):
    data = write_segmentation_data(tmp_path / "seg", count=6)
    image = os.path.join(data, "images", "s0.png")
    os.remove(image)
    os.mkfifo(image)
    unblock(image)
    _, info = load_segmentation_data(data, seed=0, val_fraction=0.2, test_fraction=0.2)
    assert [tuple(row) for row in info["skipped"]] == [(image, "not a regular file: a FIFO (named pipe)")]
    os.remove(image)
    shutil.copy(os.path.join(data, "images", "s2.png"), image)
    mask = os.path.join(data, "masks", "s0.png")
    os.remove(mask)
    os.mkfifo(mask)
    unblock(mask)
    with pytest.raises(TridentError, match="Mask .*s0.png cannot be read: not a regular file: a FIFO"):
        load_segmentation_data(data, seed=0, val_fraction=0.2, test_fraction=0.2)


def test_the_reasons_and_the_size_limit():
    assert not_regular(__file__) is None
    assert not_regular(__file__, limit=10).endswith("over the 0 MiB a data file may have")
    assert not_regular("/dev/null") == "not a regular file: a character device"
    assert not_regular(os.path.dirname(__file__)) == "not a regular file: a folder"


def test_a_link_to_an_endless_device_is_never_read(class_folder):
    """In a child limited to 6 GiB of address space and 120 s: reading `/dev/zero` whole would fail there."""
    os.symlink("/dev/zero", os.path.join(class_folder, "bars", "endless.jpg"))
    script = textwrap.dedent(f"""
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
        from shared.data.classification import load_classification_data
        _, info = load_classification_data({class_folder!r}, seed=0, val_fraction=0.2, test_fraction=0.2)
        print(json.dumps(info["skipped"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        [os.path.join(class_folder, "bars", "endless.jpg"), "not a regular file: a character device"]]


def test_listings_naming_files_outside_their_folder_are_refused_whatever_the_entry(class_folder, tmp_path):
    """A CSV named by a dataset YAML, a CSV naming a system file, a COCO file naming one: each refused
    before the named file is opened; `outside_allowed` (a run's --allow-outside-data) lets them through."""
    listing = tmp_path / "listing"
    listing.mkdir()
    rows = [f"{os.path.relpath(os.path.join(class_folder, kind, f'{i}.png'), listing)},{kind}"
            for kind in ("bars", "dots") for i in (0, 2, 4)]
    (listing / "train.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    (listing / "data.yaml").write_text("train: train.csv\n")
    with pytest.raises(TridentError, match=r"train.csv, line 2, names .*outside its folder .*listing"):
        load_classification_data(str(listing / "data.yaml"))
    with outside_allowed(True):
        splits, _ = load_classification_data(str(listing / "data.yaml"))
    assert sum(len(part) for part in splits.values()) == 6
    (listing / "system.csv").write_text("path,label\n/etc/passwd,bars\n")
    with pytest.raises(TridentError, match="system.csv, line 2, names /etc/passwd, outside its folder"):
        load_classification_data(str(listing / "system.csv"))
    coco = write_detection_data(tmp_path / "coco", fmt="coco")
    document = json.loads(open(coco).read())
    document["images"][0]["file_name"] = "/etc/hostname"
    with open(coco, "w") as f:
        json.dump(document, f)
    with pytest.raises(TridentError, match="names /etc/hostname, outside its folder"):
        load_detection_data(coco)
