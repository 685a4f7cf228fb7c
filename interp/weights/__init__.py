"""Reading mechanisms from the weights (docs/weights.md): each head's QK and OV circuits as factored matrices,
composition between heads, copying and previous-token scores, MLP neurons as key-value memories, and token
representations; every family the workbench loads (grouped-query attention, RMSNorm and rotary included)."""

from interp.weights.composition import composition_scores, virtual_weights
from interp.weights.factored import head_weights, ov_circuit, positional_qk, qk_circuit
from interp.weights.mlp import context_rows, layer_memories, neuron_memory
from interp.weights.representations import principal_directions, token_neighbours
from interp.weights.roles import head_roles
from interp.weights.vocabulary import copying_score, ov_table, qk_table, token_ids

__all__ = [
    "composition_scores",
    "context_rows",
    "copying_score",
    "head_roles",
    "head_weights",
    "layer_memories",
    "neuron_memory",
    "ov_circuit",
    "ov_table",
    "positional_qk",
    "principal_directions",
    "qk_circuit",
    "qk_table",
    "token_ids",
    "token_neighbours",
    "virtual_weights",
]
