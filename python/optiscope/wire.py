"""The wire constants the bridge shares with the Node side, in one place: the fields a `step` event and
each of its layers may carry, and the strings that stand for non-finite numbers (JSON has none).

They mirror src/engine/wire.ts, which the protocol validates against; test/bridge/wire-constants.test.ts
checks that the two are equal, so a field added on one side and not the other fails a test. The bridge
writes a subset of the fields (it draws no histograms), never one outside them."""
from typing import Tuple

STEP_FIELDS: Tuple[str, ...] = ("type", "run", "step", "epoch", "loss", "lr", "gradNorm", "layers", "params", "rank",
                                "valLoss", "accuracy", "parallel", "facts")
LAYER_FIELDS: Tuple[str, ...] = ("name", "gradNorm", "weightNorm", "updateNorm", "effectiveLr", "gradHist", "lrHist",
                                 "deadFraction", "saturatedFraction")

# A non-finite float on the wire (wire.ts's NON_FINITE).
NAN, INFINITY, MINUS_INFINITY = "NaN", "Infinity", "-Infinity"
NON_FINITE: Tuple[str, ...] = (NAN, INFINITY, MINUS_INFINITY)
