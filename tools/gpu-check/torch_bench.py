"""Times PyTorch's nn.GRU (cuDNN underneath) on the grid gpu_bench times, same way:
float32, input_size = hidden_size, sequence-major input already on the GPU, TF32 off,
one warm-up call, then enough calls for ~0.5 s; forward in eval/no_grad, and
forward + backward with given output and final-state gradients.
Prints CSV rows: impl,algo,batch,timesteps,units,mode,ms

Usage: python3 torch_bench.py [--quick] [--device cuda]
"""
import sys
import time

import torch


def time_ms(run, sync):
    run()
    sync()
    t0 = time.perf_counter()
    run()
    sync()
    first = (time.perf_counter() - t0) * 1e3
    reps = max(2, min(50, int(500.0 / max(first, 1e-3))))
    t0 = time.perf_counter()
    for _ in range(reps):
        run()
    sync()
    return (time.perf_counter() - t0) * 1e3 / reps


def bench(batch, steps, units, device, sync):
    torch.manual_seed(0)
    gru = torch.nn.GRU(units, units).to(device)
    x = torch.empty(steps, batch, units, device=device).uniform_(-1, 1)
    h0 = torch.empty(1, batch, units, device=device).uniform_(-1, 1)
    gru.eval()

    def forward():
        with torch.no_grad():
            gru(x, h0)

    fwd = time_ms(forward, sync)
    algo = "cudnn" if device == "cuda" else device
    print(f"torch,{algo},{batch},{steps},{units},fwd,{fwd:.4f}", flush=True)

    gru.train()
    xg = x.clone().requires_grad_(True)
    hg = h0.clone().requires_grad_(True)
    dy = torch.empty(steps, batch, units, device=device).uniform_(-1, 1)
    dhy = torch.empty(1, batch, units, device=device).uniform_(-1, 1)

    def forward_backward():
        y, hy = gru(xg, hg)
        torch.autograd.backward([y, hy], [dy, dhy])

    both = time_ms(forward_backward, sync)
    print(f"torch,{algo},{batch},{steps},{units},fwdbwd,{both:.4f}", flush=True)


def main(argv):
    quick = "--quick" in argv
    device = argv[argv.index("--device") + 1] if "--device" in argv else "cuda"
    if device == "cuda":
        if not torch.cuda.is_available():
            print("torch_bench: CUDA is not available to PyTorch", file=sys.stderr)
            return 2
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        sync = torch.cuda.synchronize
        print(f"torch_bench on {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
              f"cuDNN {torch.backends.cudnn.version()}", file=sys.stderr)
    else:
        sync = lambda: None  # noqa: E731
    print("impl,algo,batch,timesteps,units,mode,ms")
    batches = [32] if quick else [32, 256, 1024]
    steps = [100] if quick else [100, 500]
    units = [128] if quick else [128, 512, 1024]
    for b in batches:
        for t in steps:
            for u in units:
                bench(b, t, u, device, sync)
                if device == "cuda":
                    torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
