"""PyTorch side of `npm run bench`: a long-lived worker so that PyTorch and the engine can take turns
in one run (interleaved repeats) without paying the interpreter start-up each time.

Reads one JSON command per line on stdin, answers one JSON line on stdout:
  {"op": "train",  "w": "W2", "dtype": "float32", "steps": 200}  -> {"wall": s, "cpu": s}
  {"op": "grad"|"hvp", "w": "W2", "dtype": "float64", "n": 50}   -> {"wall": s, "cpu": s}
  {"op": "matmul", "m": 256, "k": 256, "n": 256, "dtype": "float64", "reps": 20} -> {"wall": s, "cpu": s}
  {"op": "info"} -> versions and threads
One thread (torch.set_num_threads(1); the caller also sets OMP/OPENBLAS_NUM_THREADS=1).
"""
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)

WORKLOADS = {
    "W1": ([2, 16, 16, 1], "tanh", 32, "mse", 512),
    "W2": ([64, 128, 128, 10], "tanh", 64, "cross-entropy", 1024),
    "W3": ([784, 256, 128, 10], "relu", 128, "cross-entropy", 1024),
}


class Setup:
    """A workload's model, Adam, data and a per-epoch shuffled batch order (as the engine's batches)."""

    def __init__(self, wid: str, dtype: torch.dtype) -> None:
        sizes, act, batch, loss, samples = WORKLOADS[wid]
        g = torch.Generator().manual_seed(7)
        layers = []
        for i in range(1, len(sizes)):
            layers.append(nn.Linear(sizes[i - 1], sizes[i]))
            if i < len(sizes) - 1:
                layers.append(nn.Tanh() if act == "tanh" else nn.ReLU())
        self.model = nn.Sequential(*layers).to(dtype)
        self.params = list(self.model.parameters())
        self.opt = torch.optim.Adam(self.params, lr=1e-3)
        self.x = torch.randn(samples, sizes[0], generator=g, dtype=dtype)
        if loss == "mse":
            self.y = torch.sin(self.x[:, :1]) * torch.cos(self.x[:, 1:2])
            self.loss_fn = nn.MSELoss()
        else:
            self.y = torch.randint(0, sizes[-1], (samples,), generator=g)
            self.loss_fn = nn.CrossEntropyLoss()
        self.batch = batch
        self.samples = samples
        self.g = g
        self.perm = torch.randperm(samples, generator=g)
        self.pos = 0

    def next_batch(self):
        if self.pos + self.batch > self.samples:
            self.perm = torch.randperm(self.samples, generator=self.g)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return self.x[idx], self.y[idx]

    def train(self, steps: int) -> None:
        for _ in range(steps):
            xb, yb = self.next_batch()
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.opt.step()

    def grad(self, n: int) -> None:
        xb, yb = self.x[: self.batch], self.y[: self.batch]
        for _ in range(n):
            loss = self.loss_fn(self.model(xb), yb)
            torch.autograd.grad(loss, self.params)

    def hvp(self, n: int) -> None:
        """Hessian-vector product by double backward, forward pass included (as the engine's hvp)."""
        xb, yb = self.x[: self.batch], self.y[: self.batch]
        v = [torch.randn_like(p) for p in self.params]
        for _ in range(n):
            loss = self.loss_fn(self.model(xb), yb)
            gs = torch.autograd.grad(loss, self.params, create_graph=True)
            dot = sum((g * u).sum() for g, u in zip(gs, v))
            torch.autograd.grad(dot, self.params)


def _blas() -> str:
    """The BLAS library torch loaded (Debian's torch links the generic libblas, an alternative)."""
    torch.mm(torch.ones(64, 64, dtype=torch.float64), torch.ones(64, 64, dtype=torch.float64))
    try:
        with open("/proc/self/maps") as f:
            libs = {line.rsplit("/", 1)[-1].strip() for line in f if "blas" in line.lower()}
        return ", ".join(sorted(libs)) or "unknown"
    except OSError:
        return "unknown"


def _capability() -> str:
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":")[-1].strip()
    return "unknown"


_setups = {}


def setup(wid: str, dtype: str) -> Setup:
    key = (wid, dtype)
    if key not in _setups:
        _setups[key] = Setup(wid, getattr(torch, dtype))
    return _setups[key]


def timed(f) -> dict:
    c0, t0 = time.process_time(), time.perf_counter()
    f()
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def handle(cmd: dict) -> dict:
    op = cmd["op"]
    if op == "info":
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "python": sys.version.split()[0], "blas": _blas(), "capability": _capability()}
    if op == "train":
        s = setup(cmd["w"], cmd["dtype"])
        return timed(lambda: s.train(int(cmd["steps"])))
    if op in ("grad", "hvp"):
        s = setup(cmd["w"], cmd["dtype"])
        return timed(lambda: getattr(s, op)(int(cmd["n"])))
    if op == "matmul":
        dt = getattr(torch, cmd["dtype"])
        a = torch.randn(cmd["m"], cmd["k"], dtype=dt)
        b = torch.randn(cmd["k"], cmd["n"], dtype=dt)
        c = torch.empty(cmd["m"], cmd["n"], dtype=dt)

        def run() -> None:
            for _ in range(int(cmd["reps"])):
                torch.mm(a, b, out=c)

        return timed(run)
    raise ValueError(f"unknown op {op}")


def main() -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out = handle(json.loads(line))
        except Exception as e:  # the bench reports it; the worker keeps serving
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
