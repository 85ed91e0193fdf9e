"""Joins gpu_bench's and torch_bench's CSV output and prints rgru / torch time ratios
(below 1: rgru is faster). For rgru it shows the standard algorithm and, where it ran,
the persistent one, and the best of the two (device-resident data, as PyTorch times
it), then the host path R takes (R-layout host arrays in and out, default "auto"
algorithm) and its ratio to PyTorch.

Usage: python3 compare.py rgru.csv torch.csv
"""
import csv
import sys


def load(path):
    with open(path) as f:
        return [row for row in csv.DictReader(f)]


def main(rgru_path, torch_path):
    times = {}
    for row in load(rgru_path) + load(torch_path):
        key = (int(row["batch"]), int(row["timesteps"]), int(row["units"]), row["mode"])
        times.setdefault(key, {})[f'{row["impl"]}:{row["algo"]}'] = float(row["ms"])
    header = (f'{"mode":7} {"B":>5} {"T":>4} {"U":>5} {"torch ms":>10} {"rgru ms":>10} '
              f'{"ratio":>6} {"persist ms":>11} {"best ratio":>10} {"host ms":>9} {"host ratio":>10}')
    print(header)
    print("-" * len(header))
    worst = 0.0
    for key in sorted(times, key=lambda k: (k[3], k[0], k[1], k[2])):
        t = times[key]
        torch_ms = t.get("torch:cudnn")
        std = t.get("rgru:standard")
        persist = t.get("rgru:persist_static")
        if torch_ms is None or std is None:
            continue
        auto = t.get("rgru:auto")
        host = t.get("rgru_host:auto")
        best = min(x for x in (std, persist, auto) if x is not None)
        worst = max(worst, best / torch_ms)
        print(f"{key[3]:7} {key[0]:5d} {key[1]:4d} {key[2]:5d} {torch_ms:10.3f} {std:10.3f} "
              f"{std / torch_ms:6.3f} "
              f"{(f'{persist:.3f}' if persist is not None else '-'):>11} {best / torch_ms:10.3f} "
              f"{(f'{host:.3f}' if host is not None else '-'):>9} "
              f"{(f'{host / torch_ms:.3f}' if host is not None else '-'):>10}")
    print(f"worst best-of ratio rgru/torch: {worst:.3f} (goal: <= 1.05)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
