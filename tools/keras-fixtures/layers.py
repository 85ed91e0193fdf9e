"""Reference numbers from real Keras 3.15.1 for rgru's convolution, pooling,
dropout, reshaping and activation layers, and small models made of them.

    . /work/shared/keras-oracle/env.sh
    $PY tools/keras-fixtures/layers.py tests/testthat/fixtures/keras-layers.txt

Keras's NumPy backend computes convolutions and pooling windows with
`jax.lax.conv_general_dilated` / `jax.lax.reduce_window`, and JAX is not
installable here (the oracle's `jax` is an import-only shim). Those two
primitives are given to Keras by PyTorch instead
(tests/testthat/python/lax_on_torch.py); everything above them is Keras's
own code: argument handling, causal padding, groups, bias, activation,
shapes, masks, Flatten's and Reshape's orders.

float64 cases set Keras's float64 promotion to float64 (see the oracle's
README), so they are exact to double precision.

Output format (read by tests/testthat/helper-keras-fixtures.R): blocks of
lines, one block per case:
    case<TAB>name
    config<TAB>R arguments, e.g. filters = 6L, padding = "same"
    <array name><TAB><dims><TAB><values in column-major (R) order>
Every number reads back exactly: float64 with Python's repr, float32 as the
shortest decimal that rounds to the same float32.
"""

import contextlib
import os
import sys
import warnings

import numpy as np
import torch

import keras
from keras.src.backend.common import dtypes as kdtypes

assert keras.__version__ == "3.15.1", keras.__version__
assert keras.backend.backend() == "numpy", keras.backend.backend()


# lax's primitives on PyTorch (shared with the round-trip test's Keras runs).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "testthat", "python"))
import lax_on_torch  # noqa: E402,F401


@contextlib.contextmanager
def float64_math(dtype):
    old = kdtypes.BIT64_TO_BIT32_DTYPE["float64"]
    if dtype == "float64":
        kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    try:
        yield
    finally:
        kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = old


# --- output ---------------------------------------------------------------------

lines = []


def r_value(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return f"{v}L"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple)):
        return "c(" + ", ".join(r_value(e) for e in v) + ")"
    raise TypeError(v)


def case(name, **config):
    lines.append(f"case\t{name}")
    lines.append("config\t" + ", ".join(f"{k} = {r_value(v)}" for k, v in config.items()))


def array(name, a):
    a = np.asarray(a)
    if a.dtype == np.float32:
        # the shortest decimal that reads back as the same float32
        text = lambda v: np.format_float_positional(v, unique=True, trim="-")
    else:
        a = a.astype(np.float64)
        text = lambda v: repr(float(v))
    dims = ",".join(str(d) for d in a.shape) if a.ndim else "1"
    values = " ".join(text(v) for v in a.flatten(order="F"))
    lines.append(f"{name}\t{dims}\t{values}")


rng = np.random.default_rng(20261202)


def normal(shape, dtype, scale=0.7):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# --- layers -----------------------------------------------------------------------

def conv_case(name, dtype, batch=2, steps=9, channels=4, filters=6, kernel_size=3, **kw):
    kw.setdefault("data_format", "channels_last")
    with float64_math(dtype):
        layer = keras.layers.Conv1D(filters, kernel_size, dtype=dtype, **kw)
        shape = (batch, steps, channels) if kw["data_format"] == "channels_last" else (batch, channels, steps)
        x = normal(shape, dtype)
        layer.build(shape)
        weights = [normal(w.shape, dtype) for w in layer.weights]
        layer.set_weights(weights)
        y = np.asarray(layer(x))
    case(name, dtype=dtype, filters=filters, kernel_size=kernel_size, **kw)
    array("x", x)
    for i, w in enumerate(weights):
        array(f"w{i + 1}", w)
    array("out", y)


def conv_cases():
    n = 0
    for dtype in ["float64", "float32"]:
        # the full grid in float64; float32 checks the float path on a few
        grid = [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)] if dtype == "float64" else [(2, 1), (1, 2)]
        for padding in ["valid", "same", "causal"]:
            for strides, dilation in grid:
                for groups in ([1, 2] if dtype == "float64" else [2]):
                    n += 1
                    conv_case(f"conv{n}", dtype, padding=padding, strides=strides,
                              dilation_rate=dilation, groups=groups,
                              activation=None if n % 3 else "tanh", use_bias=n % 4 != 0)
        n += 1
        conv_case(f"conv{n}", dtype, padding="same", strides=2, kernel_size=4, filters=3,
                  data_format="channels_first", activation="relu")
        n += 1
        conv_case(f"conv{n}", dtype, padding="causal", dilation_rate=2, kernel_size=2, filters=8,
                  groups=4, data_format="channels_first")
        n += 1
        conv_case(f"conv{n}", dtype, padding="valid", kernel_size=1, filters=5)
        n += 1
        conv_case(f"conv{n}", dtype, padding="valid", kernel_size=9, steps=9)


def pool_cases():
    n = 0
    for dtype in ["float64", "float32"]:
        for data_format in ["channels_last", "channels_first"]:
            sizes = [(2, None), (3, 1), (3, 2), (2, 3), (4, None)] if dtype == "float64" else [(3, 2)]
            for pool_size, strides in sizes:
                for padding in ["valid", "same"]:
                    n += 1
                    with float64_math(dtype):
                        layer = keras.layers.MaxPooling1D(pool_size, strides, padding,
                                                          data_format=data_format, dtype=dtype)
                        shape = (2, 9, 3) if data_format == "channels_last" else (2, 3, 9)
                        x = normal(shape, dtype)
                        y = np.asarray(layer(x))
                    case(f"maxpool{n}", dtype=dtype, pool_size=pool_size, strides=strides,
                         padding=padding, data_format=data_format)
                    array("x", x)
                    array("out", y)
    for dtype in ["float64", "float32"]:
        for data_format in ["channels_last", "channels_first"]:
            for keepdims in [False, True]:
                for kind in ["GlobalAveragePooling1D", "GlobalMaxPooling1D"]:
                    n += 1
                    with float64_math(dtype):
                        layer = getattr(keras.layers, kind)(data_format=data_format,
                                                            keepdims=keepdims, dtype=dtype)
                        shape = (3, 5, 4) if data_format == "channels_last" else (3, 4, 5)
                        x = normal(shape, dtype)
                        y = np.asarray(layer(x))
                        mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0]], bool)
                        ym = np.asarray(layer(x, mask=mask)) if kind == "GlobalAveragePooling1D" else None
                    case(f"{kind}{n}", dtype=dtype, data_format=data_format, keepdims=keepdims)
                    array("x", x)
                    array("out", y)
                    if ym is not None:
                        array("mask", mask)
                        array("masked_out", ym)


def reshaping_cases():
    # float64 layers: the outputs are exact copies of the inputs, so tests can
    # compare orders with identical().
    f64 = dict(dtype="float64")
    x4 = normal((2, 3, 4, 5), "float64")
    x3 = x4[:, :, :, 0]
    with float64_math("float64"):
        for data_format in ["channels_last", "channels_first"]:
            for x in [x4, x3, x4[:, :, 0, 0]]:
                layer = keras.layers.Flatten(data_format=data_format, **f64)
                case(f"flatten_{data_format}_{x.ndim}", data_format=data_format)
                array("x", x)
                array("out", np.asarray(layer(x)))
        for target in [(12,), (4, 3), (2, -1, 3), (-1, 2), (3, 2, 2)]:
            layer = keras.layers.Reshape(target, **f64)
            case("reshape_" + "_".join(str(t) for t in target), target_shape=list(target))
            array("x", x3)
            array("out", np.asarray(layer(x3)))
        layer = keras.layers.RepeatVector(3, **f64)
        case("repeat_vector", n=3)
        array("x", x4[:, :, 0, 0])
        array("out", np.asarray(layer(x4[:, :, 0, 0])))
    for activation in ["relu", "tanh", "softmax", "gelu", "elu"]:
        layer = keras.layers.Activation(activation, dtype="float64")
        with float64_math("float64"):
            y = np.asarray(layer(x3))
        case(f"activation_{activation}", activation=activation)
        array("x", x3)
        array("out", y)
    # Dropout at inference is the identity; with training=True, rate 1 drops everything.
    layer = keras.layers.Dropout(0.5, noise_shape=(None, 1, 4), seed=3)
    case("dropout_inference", rate=0.5)
    array("x", x3)
    array("out", np.asarray(layer(x3)))
    array("out_rate1_training", np.asarray(keras.layers.Dropout(1.0)(x3, training=True)))


# --- models -----------------------------------------------------------------------

def model_case(name, model, x):
    keras.utils.set_random_seed(7)
    weights = [normal(w.shape, w.dtype, 0.4) for w in model.weights]
    model.set_weights(weights)
    y = model.predict(x, verbose=0)
    case(name)
    array("x", x)
    for i, w in enumerate(weights):
        array(f"w{i + 1}", w)
    array("out", y)


def model_cases():
    # An IMDB-style classifier: embedding, dropout, causal conv, pooling, GRU, dense.
    tokens = rng.integers(1, 20, size=(3, 12)).astype("float32")
    inp = keras.Input((12,))
    h = keras.layers.Embedding(20, 6)(inp)
    h = keras.layers.Dropout(0.3)(h)
    h = keras.layers.Conv1D(8, 3, padding="causal", activation="relu")(h)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.SpatialDropout1D(0.2)(h)
    h = keras.layers.GRU(5)(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model_case("model_text_cnn_gru", keras.Model(inp, out), tokens)

    # Padded tokens averaged over their kept steps.
    tokens = np.array([[3, 5, 0, 0, 0], [1, 2, 3, 4, 5], [7, 0, 0, 0, 0]], dtype="float32")
    inp = keras.Input((5,))
    h = keras.layers.Embedding(10, 4, mask_zero=True)(inp)
    h = keras.layers.Dropout(0.5)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(2, activation="softmax")(h)
    model_case("model_masked_average", keras.Model(inp, out), tokens)

    # A time-series model: strided conv, global max, flatten-free head.
    x = normal((4, 10, 3), "float32")
    inp = keras.Input((10, 3))
    h = keras.layers.Conv1D(6, 4, strides=2, padding="same", activation="tanh")(inp)
    h = keras.layers.Conv1D(4, 2, dilation_rate=2, groups=2)(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Activation("relu")(h)
    out = keras.layers.Dense(2)(h)
    model_case("model_conv_global_max", keras.Model(inp, out), x)

    # A seq2seq shape: GRU encoder, repeat, GRU decoder, reshape, flatten, dense.
    x = normal((2, 6, 3), "float32")
    inp = keras.Input((6, 3))
    h = keras.layers.GRU(4)(inp)
    h = keras.layers.RepeatVector(5)(h)
    h = keras.layers.GRU(4, return_sequences=True)(h)
    h = keras.layers.Reshape((10, 2))(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(3)(h)
    model_case("model_seq2seq_reshape", keras.Model(inp, out), x)


def main(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conv_cases()
        pool_cases()
        reshaping_cases()
        model_cases()
    with open(path, "w") as f:
        f.write(f"# Keras {keras.__version__} (NumPy backend, convolution and pooling windows on "
                f"PyTorch {torch.__version__}); written by tools/keras-fixtures/layers.py\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
