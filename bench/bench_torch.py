#!/usr/bin/python3
"""PyTorch side of bench/bench.R and bench/bench-api.R: times the cases it is sent, one per line.

Input lines: "dtype mode batch timesteps features units seconds", with mode
  inference   nn.GRU's forward without autograd (also what `layer` times: gru(x))
  training    forward + backward of the whole output sequence
  predict     a model (nn.GRU, its final state out) in eval mode, without autograd
  train_step  that model's training step: zero_grad, forward, mse loss, backward, Adam step
Answers each line at once (bench.R alternates between it and rgru, case by case) with the
same fields followed by seconds per call: the mean over as many calls as fill about
`seconds`, after about `seconds` of warm-up calls. Process CPU seconds with one thread,
wall-clock seconds otherwise (as bench.R measures).
Usage: /usr/bin/python3 bench/bench_torch.py THREADS < cases > results
"""
import sys
import time

import torch


def seconds_per_call(fn, seconds, clock):
    calls = 0
    start = time.perf_counter()
    while True:  # warm-up: ~seconds of calls, at least two (as bench.R does for rgru)
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if calls >= 2 and elapsed >= seconds:
            break
    reps = int(min(100000, max(2, seconds / (elapsed / calls))))
    start = clock()
    for _ in range(reps):
        fn()
    return (clock() - start) / reps


class FinalState(torch.nn.Module):
    """nn.GRU returning its final state, as layer_gru() does by default."""

    def __init__(self, gru):
        super().__init__()
        self.gru = gru

    def forward(self, inputs):
        _, h_n = self.gru(inputs)
        return h_n[0]


def serve(case_call):
    """Answers each case on stdin with its fields and its seconds per call.

    case_call(fields) returns the call to time and the seconds to time it for; the
    thread count is sys.argv[1]. Shared with bench/bench_conv1d_torch.py.
    """
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    clock = time.process_time if threads == 1 else time.perf_counter
    torch.manual_seed(0)
    for line in sys.stdin:
        if not line.strip():
            continue
        call, seconds = case_call(line.split())
        s = seconds_per_call(call, seconds, clock)
        print(line.strip(), repr(s), flush=True)


def gru_case(fields):
    dtype_name, mode, b, t, f, h, seconds = fields
    b, t, f, h, seconds = int(b), int(t), int(f), int(h), float(seconds)
    dtype = torch.float32 if dtype_name == "float32" else torch.float64
    gru = torch.nn.GRU(f, h, batch_first=True).to(dtype)
    x = torch.randn(b, t, f, dtype=dtype)
    if mode in ("inference", "layer"):
        def call():
            with torch.no_grad():
                gru(x)
    elif mode == "training":
        x.requires_grad_(True)
        upstream = torch.ones(b, t, h, dtype=dtype)

        def call():
            out, _ = gru(x)
            out.backward(upstream)
    elif mode == "predict":
        model = FinalState(gru).eval()

        def call():
            with torch.no_grad():
                model(x)
    elif mode == "train_step":
        model = FinalState(gru)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = torch.nn.MSELoss()
        y = torch.randn(b, h, dtype=dtype)

        def call():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    else:
        raise ValueError("unknown mode " + mode)
    return call, seconds


if __name__ == "__main__":
    serve(gru_case)
