#!/usr/bin/python3
"""keras.layers.Bidirectional(GRU) in real Keras 3.15.1 (NumPy backend), for
tests/testthat/test-layer-bidirectional.R.

Grid, in float32 and float64: merge_mode (concat, sum, mul, ave, None) x
return_sequences x return_state x mask (none, right-padded, left-padded, holes)
x go_backwards of the wrapped layer. With go_backwards = TRUE Keras's own
backward copy would also go backwards (it sets go_backwards = True, and then
refuses the pair), so those cases give a `backward_layer` with
go_backwards = FALSE. Cases with return_state also pass initial states (first
half forward, second half backward); a few more pass them without
return_state, and a few give a backward layer of another configuration
(relu, reset_after = FALSE).

No case meets the one place where Keras's backends disagree (the output before
a sample's first kept step): Bidirectional zeroes masked outputs when it
returns sequences, and otherwise returns the last output, which differs only
for a sample with no kept step; every mask here keeps a step in each sample.
"""
import itertools

import numpy as np

import keras
from fixture_io import DTYPES, MASKS, Writer, float32_exact, results, true_float64

B, T, F, U = 3, 5, 3, 2
rng = np.random.default_rng(2024_15)


def gru_weights(reset_after=True):
    bias = float32_exact(rng, 2, 3 * U) if reset_after else float32_exact(rng, 3 * U)
    return [float32_exact(rng, F, 3 * U), float32_exact(rng, U, 3 * U), bias]


x = float32_exact(rng, B, T, F, scale=1.0)
weights = {"forward": gru_weights(), "backward": gru_weights(),
           "backward_relu": gru_weights(reset_after=False)}
h0 = [float32_exact(rng, B, U), float32_exact(rng, B, U)]

out = Writer("keras-bidirectional")
out.array("x", x)
out.masks()
for name, ws in weights.items():
    out.weights(name, ws)
out.array("h0.forward", h0[0])
out.array("h0.backward", h0[1])


def run(dtype, merge_mode, return_sequences, return_state, mask, inner_go_backwards,
        backward, initial_state):
    common = dict(units=U, return_sequences=return_sequences, return_state=return_state,
                  dtype=dtype)
    with true_float64(dtype):
        layer = keras.layers.GRU(go_backwards=inner_go_backwards, **common)
        if backward == "copy":
            bidi = keras.layers.Bidirectional(layer, merge_mode=merge_mode, dtype=dtype)
            ws = weights["forward"] + weights["backward"]
        elif backward == "given":
            back = keras.layers.GRU(go_backwards=not inner_go_backwards, **common)
            bidi = keras.layers.Bidirectional(layer, merge_mode=merge_mode,
                                              backward_layer=back, dtype=dtype)
            ws = weights["forward"] + weights["backward"]
        else:
            back = keras.layers.GRU(go_backwards=True, activation="relu", reset_after=False,
                                    **common)
            bidi = keras.layers.Bidirectional(layer, merge_mode=merge_mode,
                                              backward_layer=back, dtype=dtype)
            ws = weights["forward"] + weights["backward_relu"]
        bidi.build((B, T, F))
        bidi.set_weights([np.asarray(w, dtype) for w in ws])
        kwargs = {}
        if mask != "none":
            kwargs["mask"] = MASKS[mask]
        if initial_state:
            kwargs["initial_state"] = [np.asarray(h, dtype) for h in h0]
        return results(bidi(np.asarray(x, dtype), **kwargs))


def cases():
    merges = ["concat", "sum", "mul", "ave", None]
    masks = ["none", "right", "left", "holes"]
    for merge, seq, state, mask, back in itertools.product(
            merges, [False, True], [False, True], masks, [False, True]):
        yield merge, seq, state, mask, back, "given" if back else "copy", state
    for merge, seq, mask in itertools.product(["concat", "sum"], [False, True], masks):
        yield merge, seq, False, mask, False, "copy", True
    for merge, seq, state, mask in itertools.product(["concat", "ave"], [False, True],
                                                     [False, True], ["none", "holes"]):
        yield merge, seq, state, mask, False, "relu", state


for dtype in DTYPES:
    for i, (merge, seq, state, mask, back, backward, init) in enumerate(cases(), start=1):
        row = {"case": f"{dtype}.{i}", "merge_mode": merge or "none",
               "return_sequences": seq, "return_state": state, "mask": mask,
               "inner_go_backwards": back, "backward": backward, "initial_state": init}
        out.case(row, run(dtype, merge, seq, state, mask, back, backward, init), dtype)
out.write()
