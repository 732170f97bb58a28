"""The engine's detectors (src/engine/monitors), ported rule for rule so that the bridge's verdicts
agree with the engine's on the same numbers. Thresholds come from the same rules.json; each module
names the TypeScript file it mirrors. Differences, all because a PyTorch script has no config file:
fixes point at the optimizer's lr (`training.optimizer.lr`) or are left out, and every warning
carries `source` (the line of the user's code that created the layer or the optimizer)."""
