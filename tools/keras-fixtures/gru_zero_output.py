#!/usr/bin/python3
"""keras.layers.GRU(zero_output_for_mask = ...) in real Keras 3.15.1 (NumPy
backend), for tests/testthat/test-layer-gru-kwargs.R.

Grid, in float32 and float64: zero_output_for_mask x return_sequences x
go_backwards x mask (right-padded, left-padded, holes) x initial state.

Keras's backends disagree on one output: before a sample's first kept step,
TensorFlow and torch output zeros, NumPy's default loop repeats the initial
state. rgru follows TensorFlow. Keras's NumPy loop with unroll = True starts
its "previous output" at zeros as TensorFlow does (but ignores
zero_output_for_mask), so cases with zero_output_for_mask = False run with
unroll = True and the others with unroll = False: each case is the real Keras
layer computing what TensorFlow computes. Where no initial state is given the
two loops agree, which is checked here for every such case.
"""
import itertools

import numpy as np

import keras
from fixture_io import DTYPES, MASKS, Writer, float32_exact, results, true_float64

B, T, F, U = 3, 5, 3, 2
rng = np.random.default_rng(2024_16)
x = float32_exact(rng, B, T, F, scale=1.0)
weights = [float32_exact(rng, F, 3 * U), float32_exact(rng, U, 3 * U),
           float32_exact(rng, 2, 3 * U)]
h0 = float32_exact(rng, B, U)

out = Writer("keras-gru-zero-output")
out.array("x", x)
out.masks()
out.weights("", weights)
out.array("h0", h0)


def run(dtype, zero_output, return_sequences, go_backwards, mask, initial_state, unroll):
    with true_float64(dtype):
        gru = keras.layers.GRU(U, zero_output_for_mask=zero_output,
                               return_sequences=return_sequences, return_state=True,
                               go_backwards=go_backwards, unroll=unroll, dtype=dtype)
        gru.build((B, T, F))
        gru.set_weights([np.asarray(w, dtype) for w in weights])
        kwargs = {"mask": MASKS[mask]}
        if initial_state:
            kwargs["initial_state"] = [np.asarray(h0, dtype)]
        return results(gru(np.asarray(x, dtype), **kwargs))


for dtype in DTYPES:
    grid = itertools.product([False, True], [False, True], [False, True], list(MASKS),
                             [False, True])
    for i, (zero, seq, back, mask, init) in enumerate(grid, start=1):
        got = run(dtype, zero, seq, back, mask, init, unroll=not zero)
        if not zero and not init:
            other = run(dtype, zero, seq, back, mask, init, unroll=False)
            assert all(np.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(got, other))
        row = {"case": f"{dtype}.{i}", "zero_output_for_mask": zero, "return_sequences": seq,
               "go_backwards": back, "mask": mask, "initial_state": init}
        out.case(row, got, dtype)
out.write()
