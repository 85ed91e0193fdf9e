#!/usr/bin/python3
"""Copies ../shared/keras-files/bigru_model.io.json (a Keras 3.15.1 model:
Input(10, 8) -> Bidirectional(GRU(4, return_sequences = True), name = "bidi")
-> GRU(3, name = "gru_2") -> Dense(2), saved with its weights, inputs and
predictions; see ../shared/keras-oracle/make_files.py) into the fixture format,
for tests/testthat/test-layer-bidirectional.R. Runs on plain python3.

    python3 tools/keras-fixtures/bigru_model.py [path of bigru_model.io.json]
"""
import json
import os
import sys

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "tests", "testthat", "fixtures")
source = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/keras-files/bigru_model.io.json"


def shape_of(value):
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0]
    return shape


def column_major(value, shape):
    """Values in R's order: the first index runs fastest."""
    if not shape:
        return [value]
    n = 1
    for d in shape:
        n *= d
    out = []
    for k in range(n):
        v, rest = value, k
        for d in shape:
            v, rest = v[rest % d], rest // d
        out.append(v)
    return out


with open(source) as f:
    io = json.load(f)
assert io["keras_version"] == "3.15.1" and io["dtype"] == "float32"
arrays = [("inputs", io["inputs"]), ("outputs", io["outputs"])]
arrays += [(f"weight.{path}", value) for path, value in io["weights_keras_layout"].items()]
with open(os.path.join(FIXTURES, "keras-bigru-model.txt"), "w") as f:
    for name, value in arrays:
        shape = shape_of(value)
        values = " ".join(repr(float(v)) for v in column_major(value, shape))
        f.write(f"{name}\t{','.join(map(str, shape))}\t{values}\n")
print(f"keras-bigru-model: {len(arrays)} arrays")
