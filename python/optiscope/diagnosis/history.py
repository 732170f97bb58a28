"""Mirror of src/engine/monitors/history.ts: the scalar history the detectors read."""
import math
from typing import Dict, List


def finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


class Ring:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.buf: List[float] = [0.0] * capacity
        self.count = 0
        self.head = 0

    def push(self, x: float) -> None:
        self.buf[self.head] = x
        self.head = (self.head + 1) % self.capacity
        if self.count < self.capacity:
            self.count += 1

    def __len__(self) -> int:
        return self.count

    def back(self, i: int) -> float:
        """The i-th most recent value (0 = the latest)."""
        return self.buf[(self.head - 1 - i + 2 * self.capacity) % self.capacity]

    def recent(self, start: int, stop: int) -> List[float]:
        """[back(start), back(start + 1), …, back(stop − 1)], by slicing (the same values, in that order)."""
        n = stop - start
        if n <= 0:
            return []
        cap = self.capacity
        hi = (self.head - 1 - start) % cap  # index of back(start); back(i) walks down from it
        if n <= hi + 1:
            return self.buf[hi - n + 1 : hi + 1][::-1]
        out = self.buf[: hi + 1][::-1]
        rest = n - (hi + 1)
        out.extend(self.buf[cap - rest : cap][::-1])
        if rest > cap:  # wraps more than once (stop beyond the capacity): as back() would
            return [self.back(i) for i in range(start, stop)]
        return out

    def mean_back(self, start: int, stop: int) -> float:
        # The same left-to-right sum as summing back(i) for i in range(start, stop).
        return sum(self.recent(start, stop)) / (stop - start)


class RunHistory:
    def __init__(self, window: int, growth_factor: float) -> None:
        self.window = window
        self.growth_factor = growth_factor
        self.loss = Ring(4 * window)
        self.grad_norm = Ring(4 * window)
        self.steps = 0
        self.initial_loss = math.nan
        self.min_smoothed = math.inf
        self.max_grad_norm = 0.0
        self.first_grad_norm = math.nan
        self.growth_run = 0
        self.last_finite_loss = math.nan
        # The summaries below are asked for by several detectors per step: computed once per push.
        self._memo: Dict[tuple, float] = {}

    def push(self, loss: float, grad_norm: float) -> None:
        self._memo.clear()
        prev = self.grad_norm.back(0) if len(self.grad_norm) else math.nan
        self.loss.push(loss)
        self.grad_norm.push(grad_norm)
        self.steps += 1
        if finite(loss):
            self.last_finite_loss = loss
            if math.isnan(self.initial_loss):
                self.initial_loss = loss
        if finite(grad_norm):
            if math.isnan(self.first_grad_norm):
                self.first_grad_norm = grad_norm
            if grad_norm > self.max_grad_norm:
                self.max_grad_norm = grad_norm
        grew = not math.isnan(prev) and prev > 0 and grad_norm >= self.growth_factor * prev
        self.growth_run = self.growth_run + 1 if grew else 0
        w = self.window
        if len(self.loss) >= w:
            m = self.loss.mean_back(0, w)
            if m < self.min_smoothed:
                self.min_smoothed = m

    def smoothed(self, *args: float) -> float:
        key = ("smoothed",) + args
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = self._smoothed(*args)  # type: ignore[arg-type]
        return v

    def _smoothed(self, w: int = 0) -> float:
        n = min(w or self.window, len(self.loss))
        return self.loss.mean_back(0, n) if n else math.nan

    def progress_per_step(self, *args: float) -> float:
        key = ("progress_per_step",) + args
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = self._progress_per_step(*args)  # type: ignore[arg-type]
        return v

    def _progress_per_step(self, floor: float, w: int = 0) -> float:
        """(mean_prev − mean_last) / (w · |mean_prev − floor|); NaN until two windows exist."""
        w = w or self.window
        if len(self.loss) < 2 * w:
            return math.nan
        last = self.loss.mean_back(0, w)
        prev = self.loss.mean_back(w, 2 * w)
        scale = abs(prev - floor) if finite(floor) else max(abs(prev), 1e-12)
        return (prev - last) / (w * scale) if scale > 0 else 0.0

    def flip_fraction(self, *args: float) -> float:
        key = ("flip_fraction",) + args
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = self._flip_fraction(*args)  # type: ignore[arg-type]
        return v

    def _flip_fraction(self, w: int = 0) -> float:
        n = min(w or self.window, len(self.loss) - 2)
        if n < 2:
            return 0.0
        flips = 0
        xs = self.loss.recent(0, n + 2)
        for i in range(n):
            d1 = xs[i] - xs[i + 1]
            d2 = xs[i + 1] - xs[i + 2]
            if d1 * d2 < 0:
                flips += 1
        return flips / n

    def min_smoothed_or_first(self) -> float:
        return min(self.min_smoothed, self.initial_loss) if finite(self.min_smoothed) else self.initial_loss

    def smoothed_grad(self, *args: float) -> float:
        key = ("smoothed_grad",) + args
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = self._smoothed_grad(*args)  # type: ignore[arg-type]
        return v

    def _smoothed_grad(self, w: int = 0) -> float:
        n = min(w or self.window, len(self.grad_norm))
        return self.grad_norm.mean_back(0, n) if n else math.nan
