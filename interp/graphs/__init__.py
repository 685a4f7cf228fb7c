"""Attribution graphs: transcoders replace the MLPs, a prompt's local replacement model (attention patterns and
normalisation frozen) is linear in the transcoder latents, and the direct effects between latents, token
embeddings, error terms and logits form a graph that is pruned, verified by intervention and exported.

    from interp.graphs import attribute, load_transcoders, prune
    graph = attribute(model, load_transcoders("interp/zoo/saes/lang-4l-transcoders"), "When Mary and John ...")
    pruning = prune(graph)  # node_threshold=0.8, edge_threshold=0.98, as circuit-tracer
"""

from interp.graphs.attribute import attribute, logit_targets
from interp.graphs.export import read_graph_json, write_graph_json
from interp.graphs.prune import prune
from interp.graphs.transcoder_set import TranscoderSet, load_transcoders
from interp.graphs.verify import check_edges, check_interventions, intervene
from interp.results import AttributionGraph, GraphPruning, load_graph, save_graph  # the graph's results, re-exported

__all__ = [
    "AttributionGraph",
    "GraphPruning",
    "TranscoderSet",
    "attribute",
    "check_edges",
    "check_interventions",
    "intervene",
    "load_graph",
    "load_transcoders",
    "logit_targets",
    "prune",
    "read_graph_json",
    "save_graph",
    "write_graph_json",
]
