#!/usr/bin/env python3
"""Reference numbers from real Keras 3 for the script-support functions of rgru:
Concatenate and Add (outputs and masks), pad_sequences, and a functional model
with several inputs (integer tokens, embeddings with masks, concatenate, add,
GRUs, dense) run forward with given weights.

Run from the repository root:
    . ../shared/keras-oracle/env.sh   # or /work/shared/keras-oracle/env.sh
    $PY tools/keras-fixtures/scripts.py

Writes tests/testthat/fixtures/keras-<topic>.txt in the format of
tools/torch-fixtures.py: one array per line, "name<TAB>dims<TAB>values", values
in column-major (R) order, written with Python's repr (exact). Logical arrays
are written as 0/1.
"""
import contextlib
import os

import numpy as np
import keras
from keras.src.backend.common import dtypes as kdtypes

OUT = os.path.join("tests", "testthat", "fixtures")


def write(name, arrays):
    path = os.path.join(OUT, f"keras-{name}.txt")
    with open(path, "w") as f:
        for key, value in arrays.items():
            a = np.asarray(value)
            if a.dtype == bool:
                a = a.astype(np.int64)
            dims = ",".join(str(d) for d in (a.shape if a.ndim else (1,)))
            flat = a.reshape(-1, order="F") if a.ndim else a.reshape(1)
            vals = " ".join(repr(float(v)) if a.dtype.kind == "f" else str(int(v)) for v in flat)
            f.write(f"{key}\t{dims}\t{vals}\n")
    print("wrote", path)


@contextlib.contextmanager
def float64_promotion():
    # Keras's NumPy backend computes float64 at float32 precision unless told,
    # as the TensorFlow backend (keras3's default) does, to keep float64.
    old = kdtypes.BIT64_TO_BIT32_DTYPE["float64"]
    kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    try:
        yield
    finally:
        kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = old


def merging():
    rng = np.random.default_rng(16)
    a = rng.normal(size=(2, 3, 4))
    b = rng.normal(size=(2, 3, 2))
    c = rng.normal(size=(2, 5, 4))
    d = rng.normal(size=(2, 3, 4))
    e = rng.normal(size=(2, 1, 4))
    f = rng.normal(size=(2, 4))
    m1 = np.array([[True, True, False], [True, False, False]])
    m2 = np.array([[False, True, True], [True, False, True]])
    m3 = np.array([[True, False, True, True, False], [False, False, True, True, True]])
    out = {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "m1": m1, "m2": m2, "m3": m3}
    with float64_promotion():
        out["concat_last"] = keras.layers.Concatenate(dtype="float64")([a, b])
        out["concat_time"] = keras.layers.Concatenate(axis=1, dtype="float64")([a, c])
        out["concat_three"] = keras.layers.Concatenate(axis=-1, dtype="float64")([a, b, d])
        out["add_two"] = keras.layers.Add(dtype="float64")([a, d])
        out["add_three"] = keras.layers.Add(dtype="float64")([a, d, a])
        out["add_broadcast"] = keras.layers.Add(dtype="float64")([a, e])
        out["add_rank"] = keras.layers.Add(dtype="float64")([a, f])
    concat = keras.layers.Concatenate()
    out["mask_concat_last_both"] = concat.compute_mask([a, b], [m1, m2])
    out["mask_concat_last_one"] = concat.compute_mask([a, b], [m1, None])
    concat_time = keras.layers.Concatenate(axis=1)
    out["mask_concat_time_both"] = concat_time.compute_mask([a, c], [m1, m3])
    out["mask_concat_time_one"] = concat_time.compute_mask([a, c], [None, m3])
    add = keras.layers.Add()
    out["mask_add_both"] = add.compute_mask([a, d], [m1, m2])
    assert add.compute_mask([a, d], [m1, None]) is None
    write("merging", out)


def pad():
    seqs = [[3, 1, 4, 1, 5], [9, 2], [], [6, 5, 3, 5, 8, 9, 7], [2.7, -1.5, 8]]
    out = {}
    cases = {
        "default": {},
        "post": {"padding": "post"},
        "maxlen3": {"maxlen": 3},
        "maxlen3_post_post": {"maxlen": 3, "padding": "post", "truncating": "post"},
        "maxlen3_pre_post": {"maxlen": 3, "padding": "pre", "truncating": "post"},
        "maxlen9_value": {"maxlen": 9, "value": -1},
        "float32": {"dtype": "float32", "value": 0.5},
        "float64": {"dtype": "float64", "maxlen": 4, "value": -2.25},
        "int64": {"dtype": "int64", "maxlen": 6, "padding": "post"},
    }
    for name, kwargs in cases.items():
        out[name] = keras.utils.pad_sequences(seqs, **kwargs)
    write("pad-sequences", out)


def functional(dtype):
    """tokens (int32) -> two masked embeddings -> concatenate -> GRU (sequences)
    -> GRU; series (float) -> GRU; add the two GRU states; then a Dense head.
    Outputs: the head and the sum."""
    rng = np.random.default_rng(1616)
    tokens_in = keras.Input(shape=(6,), dtype="int32", name="tokens")
    series_in = keras.Input(shape=(6, 3), dtype=dtype, name="series")
    emb_a = keras.layers.Embedding(9, 3, mask_zero=True, dtype=dtype, name="emb_a")
    emb_b = keras.layers.Embedding(9, 2, mask_zero=True, dtype=dtype, name="emb_b")
    concat = keras.layers.Concatenate(dtype=dtype, name="concat")
    gru_seq = keras.layers.GRU(4, return_sequences=True, dtype=dtype, name="gru_seq")
    gru_tok = keras.layers.GRU(3, dtype=dtype, name="gru_tok")
    gru_ser = keras.layers.GRU(3, dtype=dtype, name="gru_ser", reset_after=False)
    add = keras.layers.Add(dtype=dtype, name="add")
    head = keras.layers.Dense(2, activation="tanh", dtype=dtype, name="head")
    joined = concat([emb_a(tokens_in), emb_b(tokens_in)])
    summed = add([gru_tok(gru_seq(joined)), gru_ser(series_in)])
    outputs = [head(summed), summed]
    model = keras.Model([tokens_in, series_in], outputs)
    out = {}
    for layer in [emb_a, emb_b, gru_seq, gru_tok, gru_ser, head]:
        new = [rng.uniform(-0.6, 0.6, size=w.shape) for w in layer.get_weights()]
        layer.set_weights(new)
        for i, w in enumerate(new):
            out[f"w_{layer.name}_{i}"] = w
    tokens = np.array([[0, 0, 3, 1, 8, 2], [5, 4, 4, 7, 1, 6], [0, 0, 0, 0, 2, 3], [1, 2, 0, 0, 0, 0]],
                      dtype="int32")
    series = rng.normal(size=(4, 6, 3))
    out["tokens"] = tokens
    out["series"] = series
    head_out, summed_out = model([tokens, series.astype(dtype)])
    out["head"] = np.asarray(head_out, dtype=np.float64)
    out["summed"] = np.asarray(summed_out, dtype=np.float64)
    out["params"] = np.array([model.count_params()])
    write(f"functional-{dtype}", out)


def main():
    merging()
    pad()
    with float64_promotion():
        functional("float64")
    functional("float32")
    print("keras", keras.__version__, keras.backend.backend())


if __name__ == "__main__":
    main()
