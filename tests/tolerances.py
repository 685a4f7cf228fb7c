"""Float32 tolerances scaled to what a test compares (the policy and the audit: docs/testing.md).

Two float32 computations of one quantity that differ only in how their sums are ordered (another kernel,
another thread split, a batched run against a sliced one) agree to a few units of float32 epsilon relative to
the magnitudes they were computed from, and every rounding along the way can add as much again. A tolerance
is therefore `depth * EPS32 * scale`: `scale` the magnitude of the values compared (or of the terms a sum
cancels), `depth` a stated count of the roundings that may accumulate (layers, summed terms), with headroom.
Even depth 1000 is 1.2e-4 of the scale: a difference a real bug makes (1%) still fails.
"""

import torch

EPS32 = torch.finfo(torch.float32).eps  # 1.19e-7, one unit in the last place of 1.0
PER_LAYER = 8  # roundings a transformer layer may add: a few blocked matmul sums, a norm, a softmax


def f32_tol(scale, depth: float) -> float:
    """The difference two float32 computations of values of size `scale` may show after `depth` roundings."""
    if isinstance(scale, torch.Tensor):
        scale = scale.detach()
    return depth * EPS32 * float(scale)


def assert_f32_close(actual, expected, *, depth: float, scale=None, msg=None) -> None:
    """`torch.testing.assert_close` for float32 results that may differ by rounding only: every entry within
    `depth` eps of `scale`, by default the largest |expected| (an entry near zero carries the rounding of the
    larger values it was computed with, so a tolerance relative to each entry alone would be too tight)."""
    expected, actual = torch.as_tensor(expected), torch.as_tensor(actual)
    if scale is None:
        scale = expected.abs().max()
    tol = f32_tol(scale, depth)
    # a label is prefixed to torch's own message (which a plain `msg` would replace): the differences stay shown
    label = (lambda m: f"{msg}: {m}\n(tolerance {depth} float32 eps of {float(scale):.3g})") if msg else None
    torch.testing.assert_close(actual, expected, rtol=0, atol=tol, msg=label)


def logit_scale(model, tokens) -> float:
    """The largest |logit| of a run: the scale of the rounding of a metric read off the logits (a logit
    difference is a small difference of larger logits)."""
    with torch.no_grad():
        return float(model(tokens).abs().max())
