"""Reading and writing CTranslate2's ``model.bin``.

The format (binary version 6, what ``ct2-transformers-converter`` writes) is
little-endian and simple:

    u32 binary version | str spec name | u32 spec revision | u32 variable count
    per variable: str name | u8 rank | u32 dims[rank] | u8 dtype | u32 byte count | raw data
    u32 alias count | per alias: str alias | str target name

where ``str`` is a u16 byte length (counting a trailing NUL) followed by the bytes.
The writer exists so that tests can build a tiny model in the same format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotrack.errors import ModelError

SUPPORTED_BINARY_VERSION = 6

# CTranslate2's DataType enum.
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"), 1: np.dtype("i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"), 4: np.dtype("<f2"),
}
_DTYPE_IDS = {dtype: key for key, dtype in _DTYPES.items()}


@dataclass
class CT2Model:
    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.offset, self.path = data, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise ModelError(f"{self.path}: truncated CTranslate2 model (ends at byte {len(self.data)})")
        value = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return value[0] if len(value) == 1 else value

    def string(self) -> str:
        length = self.take("<H")
        raw = self.take(f"{length}s")
        return raw.rstrip(b"\0").decode("utf-8")

    def array(self, dtype: np.dtype, shape: tuple[int, ...], n_bytes: int) -> np.ndarray:
        if self.offset + n_bytes > len(self.data):
            raise ModelError(f"{self.path}: truncated CTranslate2 model (ends at byte {len(self.data)})")
        flat = np.frombuffer(self.data, dtype=dtype, count=n_bytes // dtype.itemsize, offset=self.offset)
        self.offset += n_bytes
        return flat.reshape(shape)


def read_model(path: str | Path) -> CT2Model:
    """Every variable of a CTranslate2 ``model.bin``, as read-only numpy arrays."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    reader = _Reader(data, path)
    version = reader.take("<I")
    if version != SUPPORTED_BINARY_VERSION:
        raise ModelError(f"{path}: CTranslate2 binary version {version}, only {SUPPORTED_BINARY_VERSION} is supported")
    spec = reader.string()
    revision = reader.take("<I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.take("<I")):
        name = reader.string()
        rank = reader.take("<B")
        shape = tuple(reader.take("<I") for _ in range(rank))
        dtype_id = reader.take("<B")
        n_bytes = reader.take("<I")
        if dtype_id not in _DTYPES:
            raise ModelError(f"{path}: variable {name} has unsupported dtype id {dtype_id}")
        dtype = _DTYPES[dtype_id]
        if n_bytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ModelError(f"{path}: variable {name} holds {n_bytes} bytes, not {shape} x {dtype}")
        variables[name] = reader.array(dtype, shape, n_bytes)
    aliases = {}
    for _ in range(reader.take("<I")):
        alias = reader.string()
        aliases[alias] = reader.string()
    return CT2Model(spec, revision, variables, aliases)


def write_model(path: str | Path, model: CT2Model) -> None:
    """Write ``model`` in the layout :func:`read_model` reads (for test fixtures)."""

    def string(text: str) -> bytes:
        raw = text.encode("utf-8") + b"\0"
        return struct.pack("<H", len(raw)) + raw

    parts = [struct.pack("<I", SUPPORTED_BINARY_VERSION), string(model.spec),
             struct.pack("<II", model.revision, len(model.variables))]
    for name, value in model.variables.items():
        value = np.asarray(value)
        value = np.ascontiguousarray(value).reshape(value.shape)  # ascontiguousarray makes scalars 1-D
        dtype_id = _DTYPE_IDS[value.dtype.newbyteorder("<") if value.dtype.itemsize > 1 else value.dtype]
        parts += [string(name), struct.pack("<B", value.ndim), struct.pack(f"<{value.ndim}I", *value.shape),
                  struct.pack("<BI", dtype_id, value.nbytes), value.tobytes()]
    parts.append(struct.pack("<I", len(model.aliases)))
    for alias, target in model.aliases.items():
        parts += [string(alias), string(target)]
    Path(path).write_bytes(b"".join(parts))
