"""Interventions as values: small frozen objects that are hook functions, print what they do, compare
equal when they do the same, and are recorded (printed) in the results that used them.

    with hooks(model, [(hook_name("z", 1), SetHeads(source=clean_z, heads=(0, 3)))]):
        logits = model(tokens)

Tensors print as their shape and dtype, so a result records `SetHeads(source=Tensor[16, 15, 4, 32]
float32, heads=(0, 3))` rather than the numbers. Internal machinery that reshapes batches (fast patching's
row copies, attribution's gradient keepers) stays as plain functions: it is not an intervention on the
model's computation that a result should describe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from interp.vocab.types import SAE

__all__ = [
    "AddDirection",
    "Intervention",
    "MeanAblate",
    "OnlyAt",
    "ProjectOut",
    "SetHeads",
    "SetSlice",
    "SpliceSAE",
    "Steer",
    "Zero",
    "describe",
]


def describe(value: Any) -> str:
    """A short text of a field value: tensors by shape and dtype, slices as `:`, SAEs by their widths."""
    if isinstance(value, Tensor):
        return f"Tensor[{', '.join(map(str, value.shape))}] {str(value.dtype).removeprefix('torch.')}"
    if isinstance(value, slice):
        return ":" if value == slice(None) else f"{value.start or ''}:{value.stop or ''}"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if hasattr(value, "cfg") and hasattr(value.cfg, "d_sae"):
        return f"{type(value).__name__}({value.cfg.d_in} -> {value.cfg.d_sae})"
    return repr(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "cfg") and hasattr(a, "encode"):  # an SAE: the same object
        return a is b
    return bool(a == b)


class Intervention:
    """Base class: a hook function `fn(activation, hook=None) -> activation` with a readable repr and
    field-wise equality (tensors compared by value)."""

    positionwise: ClassVar[bool] = False
    """True when the edit treats every position alike and holds no tensor shaped for one prompt length: generation
    (interp.generation) applies it to the new tokens too. False (a patch source, a mean, a positions mask): it is
    shaped for the prompt, and generation applies it to the prompt's positions only."""

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        raise NotImplementedError

    def at_positions(self, positions: Tensor) -> Intervention:
        """This edit for an activation whose [batch, pos] positions along each prompt are `positions` (a chunk of a
        generation with a KV cache, or a left-padded batch whose pad positions are negative)."""
        return self

    def __repr__(self) -> str:
        shown = (
            f"{f.name}={describe(getattr(self, f.name))}"
            for f in fields(self)
            if f.repr and not (f.metadata.get("quiet_default") and getattr(self, f.name) == f.default)
        )
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.compare
        )

    __hash__ = None  # tensors have no value hash


def _value(cls: type) -> type:
    return dataclass(frozen=True, eq=False, repr=False)(cls)


@_value
class SetSlice(Intervention):
    """Write `source[:, *index]` (another run's activation, batch first) into the same slice."""

    source: Tensor
    index: tuple
    """The slice without the batch axis, e.g. (3,) for position 3, (slice(None), 2) for head 2."""

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        index = (slice(None), *self.index)
        act = act.clone()
        act[index] = self.source[index].to(act)
        return act


@_value
class SetHeads(Intervention):
    """Write the given heads (axis 2 of a [batch, pos, head, d_head] activation) from `source`; a source with
    batch 1 (a mean) is broadcast over the batch."""

    source: Tensor
    heads: tuple[int, ...]

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        heads = list(self.heads)
        act = act.clone()
        act[:, :, heads] = self.source[:, :, heads].to(act).expand(act.shape[0], -1, -1, -1)
        return act


@_value
class OnlyAt(Intervention):
    """Apply `inner` at the [batch, pos] `positions` that are set; leave the rest of the activation as it is."""

    inner: Intervention
    positions: Tensor

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        where = self.positions.to(act.device).reshape(*self.positions.shape, *([1] * (act.ndim - 2)))
        return torch.where(where, self.inner(act, hook), act)


@_value
class MeanAblate(Intervention):
    """Replace the activation (or only `heads`, axis 2) by its mean over a reference set of prompts, position
    by position: `mean` has batch 1."""

    mean: Tensor
    heads: tuple[int, ...] | None = None
    """None: the whole activation."""

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        if self.heads is None:
            return self.mean.expand_as(act).clone()
        return SetHeads(self.mean, self.heads)(act)


@_value
class Zero(Intervention):
    """Replace the activation by zeros (zero ablation)."""

    positionwise = True

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        return torch.zeros_like(act)


def _check_resid(act: Tensor, hook: Any) -> None:
    if act.ndim != 3:
        where = getattr(hook, "name", "this hook")
        raise ValueError(
            f"a direction edit needs a [batch, pos, d_model] activation; {where} has shape {tuple(act.shape)}"
        )


@_value
class ProjectOut(Intervention):
    """Project the span of `directions` out of the activation at `positions` ([batch, pos] booleans)."""

    directions: Float[Tensor, "feature d_model"]
    positions: Bool[Tensor, "batch pos"]
    basis: Tensor = field(init=False, repr=False, compare=False)
    """d_model x k orthonormal basis of the directions' span."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "basis", torch.linalg.qr(self.directions.T.float()).Q)

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        _check_resid(act, hook)
        b = self.basis.to(act)
        return act + (-(act @ b) @ b.T) * self.positions.to(act.device)[..., None]


@_value
class AddDirection(Intervention):
    """Add `scale` x the unit vector of `direction` to the activation at `positions` ([batch, pos] booleans)."""

    direction: Float[Tensor, " d_model"]
    scale: float
    positions: Bool[Tensor, "batch pos"]

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        _check_resid(act, hook)
        change = (self.scale * self.direction / self.direction.norm()).to(act).expand_as(act)
        return act + change * self.positions.to(act.device)[..., None]


@_value
class SpliceSAE(Intervention):
    """Replace the activation x by the SAE's decode(encode(x)) with some latents set to fixed values, plus
    (with `keep_error`) the SAE's error x - decode(encode(x)), so that with no edits the model runs exactly
    as it is and only the edits change its output."""

    sae: SAE
    edits: tuple[tuple[int, float], ...] = ()
    """(latent, value) pairs: value 0.0 ablates the latent, another value steers it there at every position."""
    keep_error: bool = True
    how: Literal["set", "add"] = field(default="set", metadata={"quiet_default": True})
    """"set" clamps each edited latent to its value (Neuronpedia's steering by clamping); "add" adds the value to the
    latent's activation wherever it is. "set" is left out of the printed form, which results recorded before "add"
    existed."""

    positionwise = True

    def __post_init__(self) -> None:
        if self.how not in ("set", "add"):
            raise ValueError(f"how must be 'set' or 'add', not {self.how!r}")
        for latent, value in self.edits:
            if not 0 <= latent < self.sae.cfg.d_sae:
                raise ValueError(f"latent {latent} is out of range: the SAE has {self.sae.cfg.d_sae} latents")
            if not math.isfinite(value):
                raise ValueError(f"latent {latent}'s value is {value}; give a finite number")

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        if act.shape[-1] != self.sae.cfg.d_in:
            where = getattr(hook, "name", "this hook")
            raise ValueError(f"the SAE reads width {self.sae.cfg.d_in} but {where} has width {act.shape[-1]}")
        feats = self.sae.encode(act.to(self.sae.device))
        edited = feats
        if self.edits:
            edited = feats.clone()
            for latent, value in self.edits:
                edited[..., latent] = value + (feats[..., latent] if self.how == "add" else 0.0)
        out = self.sae.decode(edited).to(act)
        if not self.keep_error:
            return out
        error = act - self.sae.decode(feats).to(act)
        return out + error


@_value
class Steer(Intervention):
    """Add `strength` x `vector` to a [batch, pos, d] activation at every position from `from_position` on (counted
    along each prompt's own tokens: the first token is 0). Activation addition's and CAA's edit; the vector
    carries its own scale (interp.steering.SteeringVector.intervention sets it)."""

    vector: Float[Tensor, " d_model"]
    strength: float
    from_position: int = 0
    positions: Tensor | None = field(default=None, repr=False, compare=False)
    """[batch, pos] positions of the activation this edit will see (set by `at_positions`); None: 0, 1, 2, ..."""

    positionwise = True

    def __post_init__(self) -> None:
        if self.vector.ndim != 1:
            raise ValueError(f"a steering vector is one vector; this one has shape {tuple(self.vector.shape)}")
        if not math.isfinite(self.strength):
            raise ValueError(f"strength is {self.strength}; give a finite number")
        if self.from_position < 0:
            raise ValueError(f"from_position is {self.from_position}; give 0 or more")

    def at_positions(self, positions: Tensor) -> Steer:
        return Steer(self.vector, self.strength, self.from_position, positions)

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        _check_resid(act, hook)
        if act.shape[-1] != self.vector.shape[0]:
            where = getattr(hook, "name", "this hook")
            raise ValueError(
                f"the steering vector has width {self.vector.shape[0]} but {where} has width {act.shape[-1]}: "
                "it was made on another model or site"
            )
        change = self.strength * self.vector.to(act)
        if self.positions is None:
            if self.from_position == 0:
                return act + change
            where = torch.arange(act.shape[1], device=act.device) >= self.from_position
            return act + change * where[None, :, None].to(act)
        return act + change * (self.positions.to(act.device) >= self.from_position)[..., None].to(act)
