"""The numpy reader of PyTorch's legacy state-dict files: round trip, refusals, damaged files."""

import pickle

import numpy as np
import pytest

from shared.backbones.torch_legacy import MAGIC, PROTOCOL, read_state_dict, write_state_dict
from shared.errors import TridentError


def test_tensors_come_back_with_shape_dtype_and_values(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"conv.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
               "bn.num_batches_tracked": np.array(7, np.int64),
               "fc.bias": rng.normal(size=5).astype(np.float64),
               "transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T}  # strides not C-ordered
    write_state_dict(tmp_path / "w.pth", tensors)
    back = read_state_dict(str(tmp_path / "w.pth"))
    assert list(back) == list(tensors)
    for name, array in tensors.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape, name
        np.testing.assert_array_equal(back[name], array)


def test_a_file_that_would_run_code_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.pth"
    marker = tmp_path / "ran"
    with open(path, "wb") as f:
        for header in (MAGIC, PROTOCOL, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(pickle.PROTO + b"\x02" + pickle.GLOBAL + b"os\nsystem\n"
                + pickle.BINUNICODE + len(f"touch {marker}").to_bytes(4, "little") + f"touch {marker}".encode()
                + pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)
    with pytest.raises(TridentError, match="os.system"):
        read_state_dict(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["cut", "not_torch", "empty"])
def test_damaged_files_name_the_file_and_the_fix(tmp_path, damage):
    path = tmp_path / "w.pth"
    write_state_dict(path, {"w": np.ones((64, 64), np.float32)})
    data = path.read_bytes()
    path.write_bytes({"cut": data[:-100], "not_torch": b"PK\x03\x04 a zip archive", "empty": b""}[damage])
    with pytest.raises(TridentError, match=f"{path}.*legacy format.*Reinstall"):
        read_state_dict(str(path))
