#!/usr/bin/python3
"""Whole models mixing the RNN wrappers (Bidirectional, TimeDistributed,
StackedRNNCells) with the script layers (Embedding, Dropout, Conv1D, pooling,
Concatenate, RepeatVector, Activation), run forward by real Keras 3.15.1
(NumPy backend) with given weights, for tests/testthat/test-models-combined.R.

    . /work/shared/keras-oracle/env.sh
    cd tools/keras-fixtures && $PY combined_models.py

Models, each in float32 and float64:
- "imdb": Embedding -> Dropout -> Conv1D -> MaxPooling1D -> Bidirectional(GRU)
  -> Dense -> Activation (keras 2's imdb_cnn_lstm example with a GRU).
- "masked": integer tokens of any length -> Embedding(mask_zero) -> Dropout ->
  Bidirectional(GRU, sequences) -> TimeDistributed(Dense), concatenated with a
  second masked embedding -> GRU encoder -> RepeatVector -> GRU decoder ->
  TimeDistributed(Dense, softmax); an unmasked embedding concatenated with the
  Bidirectional output (Keras then keeps every step) -> Bidirectional(RNN(
  StackedRNNCells), merge "sum"); and a masked GlobalAveragePooling1D of the
  Bidirectional output. Rows are right-padded, left-padded, with holes, full.
- "masking_embedding": Masking -> Embedding (no mask_zero) -> GRU: Keras's
  Embedding without mask_zero does not support masking, so it drops the mask
  (with a warning) and the GRU runs over every step.

Conv1D and MaxPooling1D need jax.lax on Keras's NumPy backend; importing
layers.py gives Keras PyTorch's versions of those two primitives (see there).

Writes tests/testthat/fixtures/keras-combined-models-<dtype>.txt, one array per
line as fixture_io.py writes them: the inputs, every layer's weights
("w.<layer>.<i>", in get_weights() order), each layer's count_params()
("params.<layer>", and "params.model"), output shape ("shape.<layer>", -1
for None) and whether its symbolic output carries a mask ("masked.<layer>", 1
or 0), and the outputs ("out.<i>").
"""
import os
import warnings

import numpy as np

import keras
import layers  # noqa: F401  (installs the convolution and pooling primitives)
from fixture_io import DTYPES, FIXTURES, Writer, float32_exact, true_float64

L = keras.layers

TOKENS = np.array([
    [3, 1, 4, 1, 5, 0, 0],   # right-padded
    [0, 0, 0, 2, 6, 5, 3],   # left-padded
    [7, 0, 8, 0, 9, 2, 0],   # holes
    [1, 2, 3, 4, 5, 6, 7],   # full
], dtype="int32")
IMDB_TOKENS = np.array([
    [0, 0, 0, 0, 3, 17, 5, 9, 12, 1, 4, 8],
    [11, 2, 19, 7, 7, 3, 15, 6, 1, 10, 2, 13],
    [0, 0, 0, 0, 0, 0, 0, 0, 5, 18, 2, 16],
], dtype="int32")


def imdb_model(dtype):
    return keras.Sequential([
        keras.Input((12,), dtype="int32"),
        L.Embedding(20, 6, dtype=dtype, name="embedding"),
        L.Dropout(0.25, dtype=dtype, name="dropout"),
        L.Conv1D(5, 3, padding="valid", activation="relu", strides=1, dtype=dtype,
                 name="conv1d"),
        L.MaxPooling1D(2, dtype=dtype, name="max_pooling1d"),
        L.Bidirectional(L.GRU(4, dtype=dtype), dtype=dtype, name="bidirectional"),
        L.Dense(1, dtype=dtype, name="dense"),
        L.Activation("sigmoid", dtype=dtype, name="activation"),
    ], name="imdb")


def masked_model(dtype):
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    embedded = L.Embedding(10, 4, mask_zero=True, dtype=dtype, name="emb")(tokens)
    dropped = L.Dropout(0.5, dtype=dtype, name="drop")(embedded)
    both = L.Bidirectional(L.GRU(3, return_sequences=True, dtype=dtype), dtype=dtype,
                           name="bi")(dropped)
    per_step = L.TimeDistributed(L.Dense(4, activation="tanh", dtype=dtype), dtype=dtype,
                                 name="td")(both)
    tags = L.Embedding(10, 2, mask_zero=True, dtype=dtype, name="emb_b")(tokens)
    joined = L.Concatenate(dtype=dtype, name="cat")([per_step, tags])
    encoded = L.GRU(5, dtype=dtype, name="encoder")(joined)
    repeated = L.RepeatVector(3, dtype=dtype, name="repeat")(encoded)
    decoded = L.GRU(5, return_sequences=True, dtype=dtype, name="decoder")(repeated)
    decoder_out = L.TimeDistributed(L.Dense(6, activation="softmax", dtype=dtype), dtype=dtype,
                                    name="out")(decoded)
    plain = L.Embedding(10, 3, dtype=dtype, name="emb_c")(tokens)
    unmasked = L.Concatenate(dtype=dtype, name="cat_all")([both, plain])
    stack = L.RNN(L.StackedRNNCells([L.GRUCell(3, dtype=dtype), L.GRUCell(2, dtype=dtype)],
                                    dtype=dtype),
                  dtype=dtype)
    stacked_out = L.Bidirectional(stack, merge_mode="sum", dtype=dtype, name="bi_stack")(unmasked)
    pooled = L.GlobalAveragePooling1D(dtype=dtype, name="pool")(both)
    return keras.Model(tokens, [decoder_out, stacked_out, pooled], name="masked")


def masking_embedding_model(dtype):
    return keras.Sequential([
        keras.Input((None,), dtype=dtype),
        L.Masking(0.0, dtype=dtype, name="masking"),
        L.Embedding(10, 3, dtype=dtype, name="embedding"),
        L.GRU(2, dtype=dtype, name="gru"),
    ], name="masking_embedding")


def write_model(out, name, model, x, rng, dtype):
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            new = [float32_exact(rng, *w.shape) for w in weights]
            layer.set_weights([np.asarray(w, dtype) for w in new])
            for i, w in enumerate(new, start=1):
                out.array(f"{name}.w.{layer.name}.{i}", w)
        out.array(f"{name}.params.{layer.name}", [layer.count_params()])
        shape = layer.output.shape
        out.array(f"{name}.shape.{layer.name}", [-1 if d is None else d for d in shape])
        has_mask = keras.src.backend.get_keras_mask(layer.output) is not None
        out.array(f"{name}.masked.{layer.name}", [has_mask])
    out.array(f"{name}.params.model", [model.count_params()])
    out.array(f"{name}.x", x)
    results = model(np.asarray(x, dtype) if x.dtype.kind == "f" else x, training=False)
    results = results if isinstance(results, (list, tuple)) else [results]
    for i, value in enumerate(results, start=1):
        out.array(f"{name}.out.{i}", np.asarray(value, np.float64), dtype)


def main():
    for dtype in DTYPES:
        rng = np.random.default_rng(2026_1516)
        out = Writer(f"keras-combined-models-{dtype}")
        with true_float64(dtype), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            write_model(out, "imdb", imdb_model(dtype), IMDB_TOKENS, rng, dtype)
            write_model(out, "masked", masked_model(dtype), TOKENS, rng, dtype)
            write_model(out, "masking_embedding", masking_embedding_model(dtype),
                        TOKENS.astype(np.float64), rng, dtype)
        dropped = [w for w in caught if "destroy the mask" in str(w.message)]
        assert any("'embedding'" in str(w.message) for w in dropped), \
            "Keras should warn that Embedding without mask_zero drops the mask"
        with open(os.path.join(FIXTURES, out.stem + ".txt"), "w") as f:
            f.writelines(out.lines)
        print(f"{out.stem}: {len(out.lines)} arrays")


if __name__ == "__main__":
    main()
