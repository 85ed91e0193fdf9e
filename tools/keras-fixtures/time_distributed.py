#!/usr/bin/python3
"""keras.layers.TimeDistributed in real Keras 3.15.1 (NumPy backend), for
tests/testthat/test-layer-time-distributed.R.

Cases, in float32 and float64: TimeDistributed(Dense(4, tanh)) on
(batch, timesteps, features); TimeDistributed(Dense(3), no bias) on
(batch, timesteps, rows, features); TimeDistributed(GRU(2)) on
(batch, timesteps, steps, features); and the Sequential model
Masking -> TimeDistributed(Dense(3, relu)) -> GRU(2), returning sequences or
not, where the mask from Masking passes through TimeDistributed to the GRU.
"""
import numpy as np

import keras
from fixture_io import DTYPES, Writer, float32_exact, results, true_float64

B, T, F = 3, 5, 4
rng = np.random.default_rng(2024_18)
x3 = float32_exact(rng, B, T, F, scale=1.0)
x4 = float32_exact(rng, B, T, 2, F, scale=1.0)
x_padded = x3.copy()
x_padded[1, 3:] = 0.0   # trailing padding
x_padded[2, 1] = 0.0    # a hole
dense4 = [float32_exact(rng, F, 4), float32_exact(rng, 4)]
dense3 = [float32_exact(rng, F, 3)]
dense_relu = [float32_exact(rng, F, 3), float32_exact(rng, 3)]
gru_on_steps = [float32_exact(rng, F, 6), float32_exact(rng, 2, 6), float32_exact(rng, 2, 6)]
gru_after = [float32_exact(rng, 3, 6), float32_exact(rng, 2, 6), float32_exact(rng, 2, 6)]

out = Writer("keras-time-distributed")
for name, value in [("x3", x3), ("x4", x4), ("x_padded", x_padded)]:
    out.array(name, value)
out.weights("dense4", dense4, ["kernel", "bias"])
out.weights("dense3", dense3, ["kernel"])
out.weights("dense_relu", dense_relu, ["kernel", "bias"])
out.weights("gru_on_steps", gru_on_steps)
out.weights("gru_after", gru_after)


def cast(ws, dtype):
    return [np.asarray(w, dtype) for w in ws]


def wrapped(dtype, inner, weights, x):
    td = keras.layers.TimeDistributed(inner, dtype=dtype)
    td.build(x.shape)
    td.set_weights(cast(weights, dtype))
    return results(td(np.asarray(x, dtype)))


def masked_model(dtype, return_sequences):
    model = keras.Sequential([
        keras.Input((T, F), dtype=dtype),
        keras.layers.Masking(0.0, dtype=dtype),
        keras.layers.TimeDistributed(keras.layers.Dense(3, activation="relu", dtype=dtype),
                                     dtype=dtype),
        keras.layers.GRU(2, return_sequences=return_sequences, dtype=dtype),
    ])
    model.set_weights(cast(dense_relu + gru_after, dtype))
    return results(model(np.asarray(x_padded, dtype)))


for dtype in DTYPES:
    with true_float64(dtype):
        runs = [
            ("dense_tanh", lambda: wrapped(dtype, keras.layers.Dense(4, activation="tanh", dtype=dtype),
                                           dense4, x3)),
            ("dense_4d", lambda: wrapped(dtype, keras.layers.Dense(3, use_bias=False, dtype=dtype),
                                         dense3, x4)),
            ("gru", lambda: wrapped(dtype, keras.layers.GRU(2, dtype=dtype), gru_on_steps, x4)),
            ("masking_gru_last", lambda: masked_model(dtype, False)),
            ("masking_gru_sequences", lambda: masked_model(dtype, True)),
        ]
        for name, run in runs:
            out.case({"case": f"{dtype}.{name}", "model": name}, run(), dtype)
out.write()
