"""Types shared by the library: the model and SAE classes, the progress callback, the shape vocabulary.

`Model` and `SAE` are TransformerLens's `TransformerBridge` and SAELens's `SAE` for type checkers, and
`Any` at run time, for two reasons: importing them costs ~8 s and ~12 s, which `interp --help` must not
pay; and the test suite checks annotations at run time (jaxtyping + beartype), resolving each one when
a function is called, where a name imported only under TYPE_CHECKING would not resolve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__all__ = ["DIMENSIONS", "SAE", "Model", "Progress"]

if TYPE_CHECKING:
    from sae_lens import SAE
    from transformer_lens.model_bridge import TransformerBridge as Model
else:
    Model = Any
    SAE = Any

Progress = Callable[[int, int], None]
"""progress(done, total), called as long work advances; the CLI draws a bar from it, the app st.progress."""

DIMENSIONS = {
    "batch": "prompts (or rows) of a batch",
    "prompt": "every prompt of a task, where a batch in the same call holds some of them",
    "pos": "token positions",
    "query": "query positions of an attention pattern",
    "key": "key positions of an attention pattern",
    "layer": "layers",
    "patch": "the patches of one layer in activation patching (positions, heads, or both)",
    "head": "attention heads (query heads)",
    "kv_head": "key/value heads (fewer than query heads in grouped-query attention)",
    "d_model": "the residual stream's width",
    "d_head": "one head's width",
    "d_mlp": "MLP hidden width",
    "d_vocab": "vocabulary",
    "token": "a chosen set of the vocabulary's tokens (a token sample, the rows of a token table; interp.weights)",
    "rank": "the rank of a low-rank weight change (one per fact a knowledge edit teaches)",
    "d_in": "an activation read as one vector per row (d_model at residual sites); an SAE's input width",
    "d_sae": "SAE latents",
    "feature": "features: true features of a toy model or dictionary, a probe's classes, or chosen SAE latents",
    "instance": "toy models trained side by side",
    "d_hidden": "a toy model's hidden width",
    "row": "rows of an activation dataset (one kept position of one prompt)",
    "writer": "writers of the residual stream in an edge graph (embeddings, heads, MLPs; interp.edges.wiring)",
    "reader": "readers of the residual stream in an edge graph (heads' q, k, v inputs, MLPs, the logits)",
    "node": "nodes of an attribution graph: transcoder latents, error terms, tokens, logits (interp.graphs)",
    "target": "the nodes whose incoming edges one attribution pass computes (latents and logits)",
    "source": "the nodes whose direct effects an attribution pass computes (latents, errors, tokens)",
    "d_a": "the width of the first of two representations compared (interp.compare)",
    "d_b": "the width of the second of two representations compared (interp.compare)",
}
"""The only dimension names used in jaxtyping shapes (tests/test_shapes.py checks every annotation)."""
