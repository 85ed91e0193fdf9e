"""lax's conv_general_dilated and reduce_window for Keras's NumPy backend, on
PyTorch (torch.nn.functional.conv1d and max_pool1d, an independent
implementation). Keras's NumPy backend computes convolutions and pooling
windows with jax.lax, and JAX is not installable here (the oracle's `jax` is
an import-only shim); importing this module gives Keras these two primitives,
and everything above them stays Keras's own code. The one rule written here is
XLA's "SAME" padding (ceil(steps / stride) outputs, the smaller half of the
padding on the left), which is what lax implements. 1-D windows only.

Used by tools/keras-fixtures/*.py and by keras_load.py (the round trip into
Keras): `import lax_on_torch` once, before running Keras models.
"""
import collections
import importlib
import types

import numpy as np
import torch
import torch.nn.functional as F

numpy_nn = importlib.import_module("keras.src.backend.numpy.nn")

ConvDimensionNumbers = collections.namedtuple(
    "ConvDimensionNumbers", ["lhs_spec", "rhs_spec", "out_spec"]
)


def same_padding(size, window, stride, dilation=1):
    out = -(-size // stride)
    span = dilation * (window - 1) + 1
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def conv_general_dilated(lhs, rhs, window_strides, padding, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, **unused):
    assert not unused, unused
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    assert len(lhs_spec) == 3, "1-D convolutions only"
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(lhs, lhs_spec)))  # (N, C, W)
    w = torch.from_numpy(np.ascontiguousarray(np.transpose(rhs, rhs_spec)))  # (O, I, K)
    (stride,) = window_strides
    (dilation,) = rhs_dilation if rhs_dilation is not None else (1,)
    if isinstance(padding, str):  # lax reads padding names case-insensitively
        assert padding.upper() in ("VALID", "SAME"), padding
        pads = (0, 0) if padding.upper() == "VALID" else same_padding(x.shape[2], w.shape[2], stride, dilation)
    else:
        (pads,) = padding
    y = F.conv1d(F.pad(x, tuple(pads)), w, stride=stride, dilation=dilation,
                 groups=feature_group_count)
    return np.transpose(y.numpy(), np.argsort(out_spec))


def reduce_window(operand, init_value, computation, window_dimensions, window_strides, padding):
    assert computation == "max" and init_value == -np.inf, "max pooling only"
    # The steps axis is the one the window spans (every case pools over 2+ steps).
    (axis,) = [i for i, w in enumerate(window_dimensions) if w > 1]
    assert operand.ndim == 3 and axis in (1, 2)
    pool, stride = window_dimensions[axis], window_strides[axis]
    order = (0, 2, 1) if axis == 1 else (0, 1, 2)
    x = torch.from_numpy(np.ascontiguousarray(np.transpose(operand, order)))
    assert padding.upper() in ("VALID", "SAME"), padding
    pads = (0, 0) if padding.upper() == "VALID" else same_padding(x.shape[2], pool, stride)
    y = F.max_pool1d(F.pad(x, pads, value=-np.inf), pool, stride)
    return np.transpose(y.numpy(), order)


torch_lax = types.SimpleNamespace(
    ConvDimensionNumbers=ConvDimensionNumbers,
    conv_general_dilated=conv_general_dilated,
    reduce_window=reduce_window,
    max="max",
    add="add",
)
numpy_nn.lax = torch_lax
numpy_nn.jax = types.SimpleNamespace(lax=torch_lax)
