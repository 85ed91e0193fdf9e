#!/usr/bin/python3
"""PyTorch side of bench/bench-conv1d.R: times the Conv1D cases it is sent, one per line.

Input lines: "dtype mode batch steps channels filters kernel_size padding seconds", with mode
  forward   torch.nn.functional.conv1d(x, weight, bias) without autograd
  training  the same with autograd, then backward of the whole output (gradients of the
            inputs, the weight and the bias, as rgru's layer computes them)
x is (batch, channels, steps), PyTorch's own layout (rgru's is (batch, steps, channels)).
Answers each line at once with the same fields followed by seconds per call (the timing
of bench_torch.py: warm-up, then the mean over ~seconds of calls; process CPU seconds with
one thread, wall-clock seconds otherwise).
Usage: /usr/bin/python3 bench/bench_conv1d_torch.py THREADS < cases > results
"""
import torch
import torch.nn.functional as F

from bench_torch import serve


def conv1d_case(fields):
    dtype_name, mode, b, t, c, f, k, padding, seconds = fields
    b, t, c, f, k, seconds = int(b), int(t), int(c), int(f), int(k), float(seconds)
    dtype = torch.float32 if dtype_name == "float32" else torch.float64
    x = torch.randn(b, c, t, dtype=dtype)
    weight = torch.randn(f, c, k, dtype=dtype) * 0.1
    bias = torch.zeros(f, dtype=dtype)
    if mode == "forward":
        def call():
            with torch.no_grad():
                F.conv1d(x, weight, bias, padding=padding)
    elif mode == "training":
        x.requires_grad_(True)
        weight.requires_grad_(True)
        bias.requires_grad_(True)
        with torch.no_grad():
            d_out = torch.ones_like(F.conv1d(x, weight, bias, padding=padding))

        def call():
            x.grad = weight.grad = bias.grad = None
            F.conv1d(x, weight, bias, padding=padding).backward(d_out)
    else:
        raise ValueError("unknown mode " + mode)
    return call, seconds


if __name__ == "__main__":
    serve(conv1d_case)
