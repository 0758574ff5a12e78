"""An ONNX graph whose weights stream into one external data file as they are made.

Every initializer is written to `model.onnx.data` the moment it is added (those of 1 MiB or more
page-aligned, so that ONNX Runtime can map them; smaller ones at the next 64-byte boundary, as ONNX
Runtime's own writer leaves them unaligned, since a page of padding each added about 5% to a small model's
file), and only its name, shape and offset stay in memory: the protobuf holds no weight and never meets its
2 GB limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ALIGN = 4096
ALIGN_FROM = 1 << 20  # bytes: a smaller initializer is not page-aligned (ONNX Runtime's own align_threshold)
ALIGN_SMALL = 64  # but starts on a cache line, whatever element type came before it
OPSET = 21
MS_OPSET = 1


@dataclass(frozen=True)
class DType:
    """An activation or weight element type: how ONNX names it and how its bytes are made from float32."""

    name: str
    onnx_type: int

    def to_bytes(self, a: np.ndarray) -> bytes:
        if self.onnx_type == TensorProto.BFLOAT16:
            return _to_bfloat16(a).tobytes()
        return np.ascontiguousarray(a, dtype=_NUMPY[self.onnx_type]).tobytes()


FLOAT32 = DType("float32", TensorProto.FLOAT)
FLOAT16 = DType("float16", TensorProto.FLOAT16)
BFLOAT16 = DType("bfloat16", TensorProto.BFLOAT16)
_NUMPY = {
    TensorProto.FLOAT: np.float32,
    TensorProto.FLOAT16: np.float16,
    TensorProto.UINT8: np.uint8,
    TensorProto.INT64: np.int64,
    TensorProto.INT32: np.int32,
}


def _to_bfloat16(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits (uint16), rounding to nearest even as torch does."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


class Nodes:
    """Nodes named by their path, in the order they were added."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []

    def node(
        self, op: str, inputs: list[str], name: str, outputs: int | list[str] = 1, domain: str = "", **attrs: object
    ) -> list[str]:
        """Adds a node named by its path; unnamed outputs are `{name}/output_{i}`, "" leaves one unused."""
        names = [f"{name}/output_{i}" for i in range(outputs)] if isinstance(outputs, int) else outputs
        self.nodes.append(helper.make_node(op, inputs, names, name=name, domain=domain or None, **attrs))
        return names

    def op(self, op: str, inputs: list[str], name: str, domain: str = "", **attrs: object) -> str:
        """A node with one output, returned by name."""
        return self.node(op, inputs, name, 1, domain, **attrs)[0]


class Branch(Nodes):
    """The body of an `If` branch: its nodes read the enclosing graph's values and initializers by name.

    Weights stay initializers of the top-level graph. ONNX Runtime 1.29 prepacks a branch's MatMulNBits
    weights from there; as initializers of the branch itself they raised an 8-layer MoE's
    peak RSS from 7.2 to 10.9 GB, and in a branch nested one level deeper they were not prepacked at all
    (30 times slower)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def proto(self, output: str, onnx_type: int) -> onnx.GraphProto:
        """The branch as the `If` attribute, with `output` (of element type `onnx_type`) as its one output."""
        return helper.make_graph(self.nodes, self.name, [], [helper.make_tensor_value_info(output, onnx_type, None)])


class Graph(Nodes):
    """Nodes, graph inputs and outputs, and initializers streamed to `data_path`."""

    def __init__(self, data_path: Path) -> None:
        super().__init__()
        self.data_path = data_path
        self._data: BinaryIO = open(data_path, "wb")
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.initializers: list[TensorProto] = []

    def close(self) -> None:
        self._data.close()

    def weight(self, name: str, values: np.ndarray, dtype: DType = FLOAT32) -> str:
        """Adds a float weight, stored as dtype."""
        return self.raw(name, dtype.onnx_type, values.shape, [dtype.to_bytes(values)])

    def constant(self, name: str, values: np.ndarray) -> str:
        """Adds a small inline initializer (axes, indices): shape inference must be able to read it."""
        self.initializers.append(numpy_helper.from_array(values, name))
        return name

    def raw(self, name: str, onnx_type: int, shape: Iterable[int], chunks: Iterable[bytes]) -> str:
        """Adds an initializer from byte chunks written in order (for tensors made piece by piece)."""
        shape = list(shape)
        size = int(np.prod(shape)) * helper.tensor_dtype_to_np_dtype(onnx_type).itemsize
        align = ALIGN if size >= ALIGN_FROM else ALIGN_SMALL
        offset = (self._data.tell() + align - 1) // align * align
        self._data.seek(offset)
        length = 0
        for chunk in chunks:
            self._data.write(chunk)
            length += len(chunk)
        tensor = TensorProto(name=name, data_type=onnx_type, dims=shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.data_path.name), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(tensor)
        return name

    def add_input(self, name: str, onnx_type: int, shape: list[int | str]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, onnx_type, shape))
        return name

    def add_output(self, name: str, onnx_type: int, shape: list[int | str]) -> None:
        self.outputs.append(helper.make_tensor_value_info(name, onnx_type, shape))

    def save(self, model_path: Path, doc: str) -> None:
        """Writes the protobuf beside the data file and closes the data file."""
        self.close()
        graph = helper.make_graph(self.nodes, "decoder", self.inputs, self.outputs, self.initializers)
        own = sorted({n.domain for n in self.nodes} - {"", "com.microsoft"})  # custom ops: kotodama.Int4MoE
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", MS_OPSET),
                           *(helper.make_opsetid(domain, 1) for domain in own)],
            producer_name="kotodama-export",
            doc_string=doc,
        )
        model.ir_version = 10
        onnx.save_model(model, str(model_path))
