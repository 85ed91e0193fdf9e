#!/usr/bin/python3
"""PyTorch side of bench/bench-training.R: one training epoch of GRU -> Linear with
Adam and mse on the same data, batch size and thread count. Prints the fastest
epoch's wall time and its process CPU time in seconds (the minimum is the figure
least disturbed by other load on a shared machine).
Usage: bench-training.py DATA_DIR N T I H BATCH EPOCHS THREADS
"""
import sys
import time

import numpy as np
import torch

data_dir, n, t, i, h, batch, epochs, threads = sys.argv[1:9]
n, t, i, h, batch, epochs, threads = map(int, (n, t, i, h, batch, epochs, threads))
torch.set_num_threads(threads)
torch.manual_seed(1)
# R writes column-major doubles; read them back in R's order.
x = np.fromfile(f"{data_dir}/x.bin", dtype=np.float64).reshape((n, t, i), order="F")
y = np.fromfile(f"{data_dir}/y.bin", dtype=np.float64).reshape((n, 1), order="F")
x = torch.tensor(x, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(i, h, batch_first=True)
        self.dense = torch.nn.Linear(h, 1)

    def forward(self, inputs):
        _, h_n = self.gru(inputs)
        return self.dense(h_n[0])


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.MSELoss()


def epoch():
    for start in range(0, n, batch):
        xb, yb = x[start:start + batch], y[start:start + batch]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()


epoch()  # warm-up
times = []
for _ in range(epochs):
    wall, cpu = time.perf_counter(), time.process_time()
    epoch()
    times.append((time.perf_counter() - wall, time.process_time() - cpu))
best = min(times)
print(best[0], best[1])
