"""Linear probing: what is linearly decodable from activations, layer by layer, against a control task,
and whether the model uses it (a causal check along the probe's directions).

- `tasks`: built-in probing tasks (prompts, positions to read, labels, the metric to watch);
- `probes`: probe training, splits by prompt, control labels, a sweep over layers;
- `causal_check`: ablate or steer along a probe's directions and watch the task;
- `experiment`: all three in one call (`interp probe`, the app's Probes page).
"""

__all__: list[str] = []
