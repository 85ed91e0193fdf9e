"""Shared by the Keras fixture generators in this folder (see README.md).

Fixture format, one array per line, as tools/torch-fixtures.py writes it:
    name<TAB>dim,dim,...<TAB>values in R's column-major order (R: array(values, dim))
float32 results are written with 9 significant digits (enough to give back the
exact float32), float64 results with Python's repr (exact).
"""
import contextlib
import csv
import os

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402

import keras  # noqa: E402
from keras.src.backend.common import dtypes as _kdtypes  # noqa: E402

if keras.backend.backend() != "numpy" or keras.__version__ != "3.15.1":
    raise SystemExit(f"expected Keras 3.15.1 on numpy, got {keras.__version__} "
                     f"on {keras.backend.backend()}")

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "tests", "testthat", "fixtures")
DTYPES = ("float32", "float64")


@contextlib.contextmanager
def true_float64(dtype):
    """Stock Keras on NumPy computes float64 in float32 (its dtype promotion maps
    float64 to float32 off TensorFlow); for float64 cases keep float64, as the
    TensorFlow backend does (the oracle's float64_promotion_patch)."""
    old = _kdtypes.BIT64_TO_BIT32_DTYPE["float64"]
    if dtype == "float64":
        _kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    try:
        yield
    finally:
        _kdtypes.BIT64_TO_BIT32_DTYPE["float64"] = old


def float32_exact(rng, *shape, scale=0.5):
    """Normal values that float32 holds exactly, so float32 and float64 cases
    read the same numbers."""
    return (rng.standard_normal(shape) * scale).astype(np.float32).astype(np.float64)


# Masks (batch 3, timesteps 5); every sample keeps at least one step.
MASKS = {
    "right": np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool),
    "left": np.array([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1]], bool),
    "holes": np.array([[1, 0, 1, 1, 0], [1, 1, 0, 0, 1], [0, 1, 0, 1, 1]], bool),
}


class Writer:
    """Collects arrays and case rows; writes <stem>.txt and <stem>-cases.csv."""

    def __init__(self, stem):
        self.stem = stem
        self.lines = []
        self.rows = []

    def array(self, name, value, dtype="float64"):
        a = np.asarray(value, dtype=np.float64)
        dims = ",".join(str(d) for d in a.shape) if a.ndim else "1"
        fmt = (lambda v: "%.9g" % v) if dtype == "float32" else (lambda v: repr(float(v)))
        vals = " ".join(fmt(v) for v in a.flatten(order="F"))
        self.lines.append(f"{name}\t{dims}\t{vals}\n")

    def masks(self):
        for name, m in MASKS.items():
            self.array(f"mask.{name}", m)

    def weights(self, prefix, values, names=("kernel", "recurrent_kernel", "bias")):
        for name, value in zip(names, values):
            self.array(f"{prefix}.{name}" if prefix else name, value)

    def case(self, row, outputs, dtype):
        """`outputs`: the layer's results in order (output(s), then states)."""
        row = dict(row, dtype=dtype, n_results=len(outputs))
        self.rows.append(row)
        for i, out in enumerate(outputs, start=1):
            self.array(f"{row['case']}.result{i}", out, dtype)

    def write(self):
        with open(os.path.join(FIXTURES, self.stem + ".txt"), "w") as f:
            f.writelines(self.lines)
        fields = list(self.rows[0].keys())
        with open(os.path.join(FIXTURES, self.stem + "-cases.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
            w.writeheader()
            for r in self.rows:
                w.writerow({k: ("TRUE" if v is True else "FALSE" if v is False else v)
                            for k, v in r.items()})
        print(f"{self.stem}: {len(self.rows)} cases, {len(self.lines)} arrays")


def results(value):
    """A layer call's results as a flat list of arrays."""
    if not isinstance(value, (list, tuple)):
        return [np.asarray(value)]
    return [a for v in value for a in results(v)]
