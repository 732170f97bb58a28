"""Mirror of src/engine/monitors/detectors/units.ts: dead-units and saturated-units."""
import math
from typing import Optional

from .board import Finding, WarningBoard
from .view import View, fmt

WHY_DEAD = ("A ReLU unit whose pre-activation is negative on every input outputs zero and passes zero gradient back, so nothing ever "
            "moves its weights again: the layer has lost that capacity for good.")
WHY_SAT = ("In the flat tails of sigmoid and tanh the derivative is nearly zero, so almost no gradient flows through those units and "
           "the layers below them learn very slowly.")


class UnitsDetector:
    def __init__(self, board: WarningBoard) -> None:
        self.board = board
        # Steps between activity measurements (the bridge's helper process samples them): persistence
        # is counted in steps, so fewer consecutive observations are needed when they are further apart.
        self.stride = 1

    def evaluate(self, v: View) -> None:
        if not v.network or not v.stats_fresh or not v.stats.has_activity:
            return
        persist = max(v.rules["persist"], math.ceil(v.window / 2))
        if self.stride > 1:
            persist = max(2, math.ceil(persist / self.stride))
        # The output layer is left out: a confident sigmoid output is the goal of training, not a fault.
        for i in range(len(v.layers) - 1):
            layer = v.layers[i]
            if layer.can_die and v.batch_size >= v.rules["deadUnits"]["minBatch"]:
                frac = v.stats.dead[i]
                f: Optional[Finding] = None
                if frac >= v.rules["deadUnits"]["fraction"]:
                    f = Finding(
                        "dead-units", "warning",
                        f"{round(frac * 100)}% of {layer.name}'s ReLU units output zero on every example of the batch.",
                        {"deadFraction": frac, "batchSize": v.batch_size, "threshold": v.rules["deadUnits"]["fraction"]},
                        WHY_DEAD, layer=layer.name, key=["deadFraction"],
                    )
                self.board.observe("dead-units", layer.name, f, v.step, persist)
            if layer.can_saturate:
                frac = v.stats.saturated[i]
                g: Optional[Finding] = None
                if frac >= v.rules["saturatedUnits"]["fraction"]:
                    g = Finding(
                        "saturated-units", "warning",
                        f"{fmt(frac * 100)}% of {layer.name}'s activations sit in the flat tails, where the slope is nearly zero.",
                        {"saturatedFraction": frac, "threshold": v.rules["saturatedUnits"]["fraction"]},
                        WHY_SAT, layer=layer.name, key=["saturatedFraction"],
                    )
                self.board.observe("saturated-units", layer.name, g, v.step, persist)
