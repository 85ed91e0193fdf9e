"""Reference values for rgru's activation tests, from PyTorch (float64).

Writes tests/testthat/fixtures/activations-torch.csv: for each activation that
PyTorch implements with Keras's formula and default parameters, the value and
autograd derivative at a grid of points avoiding kinks. Run with the system
python that has torch:  /usr/bin/python3 tools/activation-reference.py
"""
import csv
import os

import torch
import torch.nn.functional as F

KERAS_TO_TORCH = {
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),  # Keras's default slope
    "elu": F.elu,
    "selu": F.selu,
    "celu": F.celu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "silu": F.silu,
    "gelu": F.gelu,  # exact (erf) form, Keras's default approximate=False
    "tanh": torch.tanh,
    "tanh_shrink": F.tanhshrink,
    "hard_tanh": F.hardtanh,
    "soft_shrink": lambda x: F.softshrink(x, 0.5),
    "hard_shrink": lambda x: F.hardshrink(x, 0.5),
    "sigmoid": torch.sigmoid,
    "exponential": torch.exp,
    "hard_sigmoid": F.hardsigmoid,  # relu6(x + 3) / 6, as Keras 3
    "hard_silu": F.hardswish,
    "mish": F.mish,
    "log_sigmoid": F.logsigmoid,
    "linear": lambda x: x,
}

points = torch.linspace(-7.3, 7.3, 60, dtype=torch.float64)

out = os.path.join(os.path.dirname(__file__), "..", "tests", "testthat",
                   "fixtures", "activations-torch.csv")
with open(out, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["name", "x", "y", "dydx"])
    for name, fn in KERAS_TO_TORCH.items():
        x = points.clone().requires_grad_(True)
        y = fn(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        for xi, yi, gi in zip(x.tolist(), y.tolist(), grad.tolist()):
            writer.writerow([name, repr(xi), repr(yi), repr(gi)])
