#!/usr/bin/python3
"""Writes the training parity fixtures used by tests/testthat/test-training-torch.R.

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch-training-fixtures.py
The tests read the committed files and never need Python.

Each case is a GRU -> Dense model trained by PyTorch autograd in float64 on fixed
weights and data, with the loss, optimizer and batching rules of Keras 3:
  - mse with "sum_over_batch_size" (mean over all values, sample weights multiply
    per-sample losses before the division), L2 kernel penalty added to the loss;
  - SGD: w -= lr * g, momentum m = mu * m - lr * g, w += m;
  - Adam with Keras's epsilon placement: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t),
    w -= alpha * m / (sqrt(v) + eps)  (torch.optim.Adam adds eps after the bias
    correction, so it is written out here).
The GRU is written with torch ops in Keras's layout (gate columns z, r, h) so both
reset_after conventions can be checked; for reset_after = True it is first checked
against torch.nn.GRU. Format (as tools/torch-fixtures.py), one array per line:
name<TAB>dim,dim,...<TAB>values in R's column-major order.
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testthat",
                   "fixtures", "training")
torch.set_default_dtype(torch.float64)


def write(path, arrays):
    with open(path, "w") as f:
        for name, value in arrays:
            a = np.asarray(value, dtype=np.float64)
            dims = ",".join(str(d) for d in a.shape) if a.ndim else "1"
            vals = " ".join(repr(float(v)) for v in a.flatten(order="F"))
            f.write(f"{name}\t{dims}\t{vals}\n")


def keras_gru(x, kernel, recurrent_kernel, bias, reset_after, return_sequences):
    batch, timesteps, _ = x.shape
    units = recurrent_kernel.shape[0]
    h = torch.zeros(batch, units, dtype=x.dtype)
    outputs = []
    for t in range(timesteps):
        if reset_after:
            xw = x[:, t, :] @ kernel + bias[0]
            hu = h @ recurrent_kernel + bias[1]
            z = torch.sigmoid(xw[:, :units] + hu[:, :units])
            r = torch.sigmoid(xw[:, units:2 * units] + hu[:, units:2 * units])
            hh = torch.tanh(xw[:, 2 * units:] + r * hu[:, 2 * units:])
        else:
            xw = x[:, t, :] @ kernel + bias
            hu = h @ recurrent_kernel[:, :2 * units]
            z = torch.sigmoid(xw[:, :units] + hu[:, :units])
            r = torch.sigmoid(xw[:, units:2 * units] + hu[:, units:])
            hh = torch.tanh(xw[:, 2 * units:] + (r * h) @ recurrent_kernel[:, 2 * units:])
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return torch.stack(outputs, dim=1) if return_sequences else h


def check_against_nn_gru(x, kernel, recurrent_kernel, bias):
    units = recurrent_kernel.shape[0]
    gru = torch.nn.GRU(x.shape[2], units, batch_first=True)

    def rows(w):  # Keras columns z, r, h -> torch rows r, z, n
        z, r, h = w[:, :units], w[:, units:2 * units], w[:, 2 * units:]
        return torch.cat([r, z, h], dim=1).t()

    with torch.no_grad():
        gru.weight_ih_l0.copy_(rows(kernel))
        gru.weight_hh_l0.copy_(rows(recurrent_kernel))
        gru.bias_ih_l0.copy_(rows(bias[0:1]).flatten())
        gru.bias_hh_l0.copy_(rows(bias[1:2]).flatten())
        _, h_n = gru(x)
        mine = keras_gru(x, kernel, recurrent_kernel, bias, True, False)
    assert torch.allclose(h_n[0], mine, rtol=1e-12, atol=1e-12)


def case(name, reset_after=True, return_sequences=False, optimizer="sgd", lr=0.1,
         momentum=0.0, steps=1, batch_size=None, l2=0.0, sample_weight=False, seed=1,
         batch=6, timesteps=5, features=3, units=4, out_units=2, dtype=torch.float64):
    gen = np.random.default_rng(seed)
    rnd = lambda *shape: gen.normal(0.0, 0.5, size=shape)
    # float32 cases round the data and weights first, so R starts from the same values.
    t = lambda a: torch.tensor(a).to(dtype)
    x = t(rnd(batch, timesteps, features))
    y_shape = (batch, timesteps, out_units) if return_sequences else (batch, out_units)
    y = t(rnd(*y_shape))
    sw = t(gen.uniform(0.2, 2.0, size=batch)) if sample_weight else None
    params = [
        t(rnd(features, 3 * units)),
        t(rnd(units, 3 * units)),
        t(rnd(2, 3 * units) if reset_after else rnd(3 * units)),
        t(rnd(units, out_units)),
        t(rnd(out_units)),
    ]
    if reset_after and dtype == torch.float64:
        check_against_nn_gru(x, *params[:3])
    initial = [p.clone() for p in params]
    for p in params:
        p.requires_grad_(True)
    batch_size = batch_size or batch
    state = [dict() for _ in params]
    losses = []
    iteration = 0
    for _ in range(steps):
        for start in range(0, batch, batch_size):
            rows = slice(start, min(start + batch_size, batch))
            seq = keras_gru(x[rows], params[0], params[1], params[2], reset_after,
                            return_sequences)
            pred = seq @ params[3] + params[4]
            per_sample = ((pred - y[rows]) ** 2).mean(dim=-1)
            if sw is not None:
                w = sw[rows]
                per_sample = per_sample * (w[:, None] if per_sample.dim() == 2 else w)
            loss = per_sample.sum() / per_sample.numel() + l2 * (params[0] ** 2).sum()
            losses.append(loss.item())
            grads = torch.autograd.grad(loss, params)
            iteration += 1
            with torch.no_grad():
                for p, g, s in zip(params, grads, state):
                    if optimizer == "sgd" and momentum == 0:
                        p -= lr * g
                    elif optimizer == "sgd":
                        s["m"] = momentum * s.get("m", torch.zeros_like(p)) - lr * g
                        p += s["m"]
                    else:
                        b1, b2, eps = 0.9, 0.999, 1e-7
                        s["m"] = s.get("m", torch.zeros_like(p))
                        s["v"] = s.get("v", torch.zeros_like(p))
                        s["m"] += (g - s["m"]) * (1 - b1)
                        s["v"] += (g * g - s["v"]) * (1 - b2)
                        alpha = lr * np.sqrt(1 - b2 ** iteration) / (1 - b1 ** iteration)
                        p -= alpha * s["m"] / (torch.sqrt(s["v"]) + eps)
    names = ["kernel", "recurrent_kernel", "bias", "dense_kernel", "dense_bias"]
    arrays = [("x", x), ("y", y)]
    if sw is not None:
        arrays.append(("sample_weight", sw))
    arrays += [("initial_" + n, p) for n, p in zip(names, initial)]
    arrays += [("final_" + n, p.detach()) for n, p in zip(names, params)]
    arrays.append(("losses", np.array(losses)))
    write(os.path.join(OUT, name + ".txt"), arrays)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    case("sgd-step")
    case("sgd-step-reset-before", reset_after=False, seed=2)
    case("sgd-momentum-minibatch-l2-weighted", momentum=0.9, lr=0.05, steps=2, batch_size=4,
         l2=0.01, sample_weight=True, seed=3, batch=10)
    case("sgd-sequences", return_sequences=True, seed=4)
    case("adam-steps", optimizer="adam", lr=0.01, steps=4, seed=5)
    case("adam-steps-float32", optimizer="adam", lr=0.01, steps=3, seed=6, dtype=torch.float32)
