"""How a run's events are sent: each stamped with its run (and rank) and written to the channel
(channel.py); the start, step, hessian, end and error events built from what was measured. The Node
side judges them (src/engine/monitors/judge.ts); nothing here decides anything."""
import json
import math
import sys
import time
import traceback
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from .channel import Channel
from .hessian import extremes
from .records import ProbeResult
from .stats import StepStats


_MAX = sys.float_info.max  # a float within ±_MAX is finite (NaN fails every comparison)


def light_tail(run: str, rank: Optional[int]) -> str:
    """The end of a light step's line: the run (JSON-escaped as encode_event escapes it) and the rank."""
    return f',"run":{json.dumps(run, ensure_ascii=False)}' + ("" if rank is None else f',"rank":{rank:d}') + "}\n"


class Reporter:
    def __init__(self, channel: Channel, run: str, rank: Optional[int]) -> None:
        self.channel = channel
        self.run = run
        self.rank = rank
        self.last_loss = math.nan  # the `end` event's loss
        self.best: Optional[Tuple[float, int]] = None  # (loss, step) of the lowest finite loss reported
        self.t0 = time.time()
        self._run_json: Tuple[str, str, Optional[int]] = ("", "", None)  # (run, its light-step line tail, rank)

    def stamp(self, event: Dict[str, Any]) -> Dict[str, Any]:
        event.setdefault("run", self.run)
        if self.rank is not None:
            event["rank"] = self.rank
        return event

    def emit(self, event: Dict[str, Any], quiet: bool = False) -> None:
        self.channel.emit(self.stamp(event), quiet)

    def start(self, config: Dict[str, Any], parameters: int, layers: List[Dict[str, Any]], optimizer: str,
              extra: Dict[str, Any]) -> None:
        """The `start` event: the run's configuration and layers (gathered by the monitor), stamped with the time."""
        self.emit({"type": "start", "protocol": 1, "config": config, "parameters": parameters, "layers": layers,
                   "optimizer": optimizer, "source": "pytorch", "time": datetime.now(timezone.utc).isoformat(), **extra})

    def step(self, step: int, s: StepStats, loss_known: bool, params: Optional[List[float]],
             facts: Dict[str, Any], layers: Optional[List[Dict[str, Any]]] = None, quiet: bool = False) -> None:
        """The `step` event of one monitored step (`params`: the whole parameter vector of a tiny model;
        `layers`: the per-layer statistics sent, when not all of `s.layers`: detail.py thins them; `quiet`:
        without ringing the doorbell, for a run that never waits for the verdicts: channel.py)."""
        event = self._step_event(step, s.loss if loss_known else None, s.lr, s.grad_norm, s.layers if layers is None else layers)
        if params is not None:
            event["params"] = params
        if facts:
            event["facts"] = facts
        self.emit(event, quiet)

    def light_step(self, step: int, loss: Optional[float], lr: float, grad_norm: float, rows: int) -> None:
        """The `step` event of a light step (cadence.py): loss, gradient norm and lr, no per-layer statistics.
        The common one (finite float loss, lr and norm) is formatted from a template, the very line
        encode_event writes for the same event (test_encode pins that): building the dict and running the
        JSON encoder cost a small model's light step more than its gradient norm."""
        if (loss is not None and type(loss) is float and type(lr) is float and type(grad_norm) is float
                and -_MAX <= loss <= _MAX and -_MAX <= lr <= _MAX and -_MAX <= grad_norm <= _MAX):
            self.last_loss = loss
            best = self.best
            if best is None or loss < best[0]:
                self.best = (loss, step)
            if self._run_json[0] != self.run or self._run_json[2] != self.rank:
                self._run_json = (self.run, light_tail(self.run, self.rank), self.rank)
            facts = f',"facts":{{"batchSize":{rows:d}}}' if rows else ""
            self.channel.write_line(f'{{"type":"step","step":{step:d},"epoch":0,"loss":{loss!r},"lr":{lr!r},'
                                    f'"gradNorm":{grad_norm!r},"layers":[]{facts}{self._run_json[1]}', quiet=True)
            return
        event = self._step_event(step, loss, lr, grad_norm, [])
        if rows or loss is None:
            event["facts"] = {"batchSize": rows} if loss is not None else {"lossUnknown": True, **({"batchSize": rows} if rows else {})}
        self.channel.emit(self.stamp(event), quiet=True)  # read with the next event that rings (channel.py)

    def _step_event(self, step: int, loss: Optional[float], lr: float, grad_norm: float,
                    layers: List[Dict[str, Any]]) -> Dict[str, Any]:
        """A step event's common fields; keeps the last and the best loss for `end`."""
        if loss is None:
            loss = math.nan
        else:
            self.last_loss = loss
            if not math.isnan(loss) and not math.isinf(loss) and (self.best is None or loss < self.best[0]):
                self.best = (loss, step)
        return {"type": "step", "step": step, "epoch": 0, "loss": loss, "lr": lr, "gradNorm": grad_norm, "layers": layers}

    def hessian(self, probe: ProbeResult) -> None:
        """A curvature probe's result, with what the probe measured beyond the extreme eigenvalues
        (preconditioned sharpness, per-layer curvature: hessian.py)."""
        values = probe.values
        self.emit({"type": "hessian", "step": probe.step, "lambdaMax": values[-1], "lambdaMin": values[0],
                   "eigenvalues": extremes(values), "hvps": probe.hvps, "trigger": probe.trigger,
                   "lrSharpness": probe.lr * values[-1], **(probe.extras or {})})

    def error(self, e: BaseException) -> Dict[str, Any]:
        """The `error` event of Optiscope's own failure (not yet sent)."""
        return self.stamp({"type": "error", "message": f"Optiscope stopped monitoring {self.run}: {type(e).__name__}: {e}",
                           "detail": "".join(traceback.format_exception(type(e), e, e.__traceback__))})

    def end(self, steps: int, reason: str) -> None:
        event: Dict[str, Any] = {"type": "end", "steps": steps, "loss": self.last_loss, "reason": reason,
                                 "wallMs": (time.time() - self.t0) * 1000.0}
        if self.best is not None:
            event["bestLoss"], event["bestStep"] = self.best
        self.emit(event)
