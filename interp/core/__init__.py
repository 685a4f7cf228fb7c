"""The lower layer: what every analysis shares and nothing in it knows an analysis.

- `choices`: the `Literal` types of every fixed-valued option, and `check_choice`;
- `types`: the model and SAE types, the progress callback, the vocabulary of shape dimensions;
- `tokens`: text <-> token ids, context checks;
- `sites`: site kinds, hook names, the model's hook points and which sites it has;
- `hooks`: hooks installed for a `with` block, cached runs of chosen hooks;
- `task`: the `Task` every circuit analysis consumes;
- `metrics`: task metrics at the metric position, normalisation, the answer direction;
- `interventions`: interventions as small printable values (set a slice, set heads, mean-ablate,
  project out or add a direction, splice an SAE);
- `patch_sites`: the patchable sites and how one patch indexes each;
- `baselines`: the clean and corrupted runs patching starts from, and its result;
- `weights`: a block's biases, read as zeros where the model has none (Llama-family models).

Import the modules themselves (`from interp.core.sites import hook_name`); this package re-exports
nothing, so each name has one home. The layers and the direction of imports are described in
docs/ARCHITECTURE.md and checked by tests/test_layering.py.
"""

__all__: list[str] = []
