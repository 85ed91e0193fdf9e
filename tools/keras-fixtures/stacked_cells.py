#!/usr/bin/python3
"""keras.layers.RNN(StackedRNNCells([GRUCell(3), GRUCell(2, reset_after = False)]))
in real Keras 3.15.1 (NumPy backend), for tests/testthat/test-cell-stacked.R.

Grid, in float32 and float64: return_sequences x return_state x go_backwards x
mask (none, right-padded, left-padded, holes) x initial states (one per cell),
plus zero_output_for_mask = True with each mask. As in gru_zero_output.py,
cases with masks and zero_output_for_mask = False run Keras's unroll = True
loop, whose "previous output" starts at zeros as on TensorFlow (rgru's rule);
without an initial state the two loops agree, which is checked here.
"""
import itertools

import numpy as np

import keras
from fixture_io import DTYPES, MASKS, Writer, float32_exact, results, true_float64

B, T, F = 3, 5, 4
U1, U2 = 3, 2
rng = np.random.default_rng(2024_17)
x = float32_exact(rng, B, T, F, scale=1.0)
cell1 = [float32_exact(rng, F, 3 * U1), float32_exact(rng, U1, 3 * U1),
         float32_exact(rng, 2, 3 * U1)]
cell2 = [float32_exact(rng, U1, 3 * U2), float32_exact(rng, U2, 3 * U2),
         float32_exact(rng, 3 * U2)]
h0 = [float32_exact(rng, B, U1), float32_exact(rng, B, U2)]

out = Writer("keras-stacked-cells")
out.array("x", x)
out.masks()
out.weights("cell1", cell1)
out.weights("cell2", cell2)
out.array("h0.cell1", h0[0])
out.array("h0.cell2", h0[1])


def run(dtype, return_sequences, return_state, go_backwards, mask, initial_state,
        zero_output, unroll):
    with true_float64(dtype):
        cells = [keras.layers.GRUCell(U1, dtype=dtype),
                 keras.layers.GRUCell(U2, reset_after=False, dtype=dtype)]
        rnn = keras.layers.RNN(keras.layers.StackedRNNCells(cells, dtype=dtype),
                               return_sequences=return_sequences, return_state=return_state,
                               go_backwards=go_backwards, zero_output_for_mask=zero_output,
                               unroll=unroll, dtype=dtype)
        rnn.build((B, T, F))
        rnn.set_weights([np.asarray(w, dtype) for w in cell1 + cell2])
        kwargs = {}
        if mask != "none":
            kwargs["mask"] = MASKS[mask]
        if initial_state:
            kwargs["initial_state"] = [np.asarray(h, dtype) for h in h0]
        got = results(rnn(np.asarray(x, dtype), **kwargs))
        # Keras nests each cell's state in a list, shaped (1, batch, units) here.
        return [got[0]] + [np.reshape(s, (B, -1)) for s in got[1:]]


def cases():
    masks = ["none"] + list(MASKS)
    for seq, state, back, mask, init in itertools.product(
            [False, True], [False, True], [False, True], masks, [False, True]):
        yield seq, state, back, mask, init, False
    for mask in MASKS:
        yield True, True, False, mask, True, True


for dtype in DTYPES:
    for i, (seq, state, back, mask, init, zero) in enumerate(cases(), start=1):
        unroll = mask != "none" and not zero
        got = run(dtype, seq, state, back, mask, init, zero, unroll)
        if unroll and not init:
            other = run(dtype, seq, state, back, mask, init, zero, unroll=False)
            assert all(np.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(got, other))
        row = {"case": f"{dtype}.{i}", "return_sequences": seq, "return_state": state,
               "go_backwards": back, "mask": mask, "initial_state": init,
               "zero_output_for_mask": zero}
        out.case(row, got, dtype)
out.write()
