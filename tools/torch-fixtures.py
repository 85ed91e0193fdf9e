#!/usr/bin/python3
"""Writes the PyTorch nn.GRU parity fixtures used by tests/testthat/test-engine-torch.R.

Run with Debian's python3-torch:  /usr/bin/python3 tools/torch-fixtures.py
The tests read the committed files and never need Python.

nn.GRU is Keras's reset_after = TRUE convention with gate order (r, z, n) and weights
stored transposed. Each fixture holds Keras-layout weights, the inputs, nn.GRU's outputs,
and the gradients of loss = sum(out * w_seq) + sum(h_n * w_fin), mapped back to Keras
layout. Format, one array per line:  name<TAB>dim,dim,...<TAB>values in R's column-major
order (R: array(values, dim)).
"""
import os
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testthat", "fixtures")


def keras_to_torch_rows(kernel_t, units):
    # kernel_t: (3*units, n) = Keras kernel transposed, blocks z, r, h -> torch r, z, n.
    z, r, h = kernel_t[:units], kernel_t[units:2 * units], kernel_t[2 * units:]
    return torch.cat([r, z, h], dim=0)


def torch_to_keras_cols(weight, units):
    # weight: (3*units, n) torch rows r, z, n -> Keras (n, 3*units) columns z, r, h.
    r, z, n = weight[:units], weight[units:2 * units], weight[2 * units:]
    return torch.cat([z, r, n], dim=0).t()


def write(path, arrays):
    with open(path, "w") as f:
        for name, value in arrays:
            a = np.asarray(value, dtype=np.float64)
            dims = ",".join(str(d) for d in a.shape) if a.ndim else "1"
            vals = " ".join(repr(float(v)) for v in a.flatten(order="F"))
            f.write(f"{name}\t{dims}\t{vals}\n")


def case(name, batch, timesteps, features, units, seed, lengths=None, dtype=torch.float64,
         initial_state=True):
    gen = np.random.default_rng(seed)
    rnd = lambda *shape: gen.normal(0.0, 0.5, size=shape)
    x = rnd(batch, timesteps, features)
    kernel = rnd(features, 3 * units)
    recurrent_kernel = rnd(units, 3 * units)
    bias = rnd(2, 3 * units)
    h0 = rnd(batch, units) if initial_state else np.zeros((batch, units))
    w_seq = rnd(batch, timesteps, units)
    w_fin = rnd(batch, units)
    if lengths is not None:
        w_seq[:] = 0.0  # packed outputs are zero-filled, unlike Keras: compare final state only

    gru = torch.nn.GRU(features, units, batch_first=True).to(dtype)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(keras_to_torch_rows(torch.tensor(kernel.T), units))
        gru.weight_hh_l0.copy_(keras_to_torch_rows(torch.tensor(recurrent_kernel.T), units))
        gru.bias_ih_l0.copy_(keras_to_torch_rows(torch.tensor(bias[0]).unsqueeze(1), units).squeeze(1))
        gru.bias_hh_l0.copy_(keras_to_torch_rows(torch.tensor(bias[1]).unsqueeze(1), units).squeeze(1))
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    h0t = torch.tensor(h0, dtype=dtype, requires_grad=True)
    if lengths is not None:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        out, hn = gru(packed, h0t.unsqueeze(0))
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=timesteps)
    else:
        out, hn = gru(xt, h0t.unsqueeze(0))
    hn = hn.squeeze(0)
    loss = (out * torch.tensor(w_seq, dtype=dtype)).sum() + (hn * torch.tensor(w_fin, dtype=dtype)).sum()
    loss.backward()

    d_bias = torch.stack([
        torch_to_keras_cols(gru.bias_ih_l0.grad.unsqueeze(1), units).squeeze(0),
        torch_to_keras_cols(gru.bias_hh_l0.grad.unsqueeze(1), units).squeeze(0),
    ])
    arrays = [
        ("dtype", np.array([32.0 if dtype == torch.float32 else 64.0])),
        ("x", x), ("kernel", kernel), ("recurrent_kernel", recurrent_kernel), ("bias", bias),
        ("initial_state", h0), ("w_seq", w_seq), ("w_fin", w_fin),
        ("sequence", out.detach().numpy()), ("final_state", hn.detach().numpy()),
        ("d_x", xt.grad.numpy()), ("d_initial_state", h0t.grad.numpy()),
        ("d_kernel", torch_to_keras_cols(gru.weight_ih_l0.grad, units).numpy()),
        ("d_recurrent_kernel", torch_to_keras_cols(gru.weight_hh_l0.grad, units).numpy()),
        ("d_bias", d_bias.numpy()),
    ]
    if lengths is not None:
        mask = np.zeros((batch, timesteps))
        for b, n in enumerate(lengths):
            mask[b, :n] = 1.0
        arrays.append(("mask", mask))
    write(os.path.join(OUT, f"torch-gru-{name}.txt"), arrays)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    case("basic", 3, 5, 4, 3, seed=1)
    case("wide", 2, 7, 3, 6, seed=2, initial_state=False)
    case("single-unit", 4, 3, 1, 1, seed=3)
    case("right-padded", 3, 6, 2, 4, seed=4, lengths=[6, 3, 1])
    case("basic-float32", 3, 5, 4, 3, seed=1, dtype=torch.float32)
    print("torch", torch.__version__, "fixtures written to", os.path.normpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
