"""Every result type of the library, in one package: frozen dataclasses whose fields carry their axis
names and labels, saved to JSON (rounded once, on saving) and loaded back.

    from interp.results import PatchResult, load_json, save_json

The types live in modules by subject (`model`, `circuits`, `editing`, `edges`, `graphs`, `probing`, `sae`,
`superposition`, `trojans`), the JSON round trip (and the folder of a result that holds tensors) in `io`; this
package re-exports all of them, and every module imports results from here (tests/test_layering.py checks it). Results
import nothing of the library but the choice types, so every layer can use them.
"""

from interp.results.circuits import (
    Agreement,
    Circuit,
    DLAResult,
    Faithfulness,
    HeadCircuit,
    LogitLensResult,
    PatchResult,
)
from interp.results.edges import EdgeCircuit, EdgeScores, FaithfulnessCurve, KnownCircuitScore
from interp.results.editing import (
    CausalTrace,
    EditEvaluation,
    FactRecall,
    FactScore,
    Generation,
    KnowledgeEdit,
    SteeringEvaluation,
    SteeringRow,
    SteeringVector,
)
from interp.results.graphs import (
    AttributionGraph,
    EdgeCheck,
    GraphIntervention,
    GraphPruning,
    InterventionCheck,
    load_graph,
    save_graph,
)
from interp.results.io import (
    SIGNIFICANT_DIGITS,
    Floats,
    Floats2,
    Floats3,
    load_folder,
    load_json,
    nested_tuple,
    rounded,
    save_folder,
    save_json,
    to_json,
)
from interp.results.model import AttentionPatterns, HeadScores, ModelFacts, NextTokens, TaskMetrics
from interp.results.probing import CausalCheck, ProbeExperiment, ProbeResult
from interp.results.sae import (
    FeatureContext,
    FeatureDashboard,
    FeatureDLAResult,
    FeatureIntervention,
    PromptFeatures,
    SAEEvalResult,
    TrainingLog,
    TranscoderEvalResult,
)
from interp.results.superposition import (
    PHASES,
    DecoderGeometryResult,
    DimensionalitySweepResult,
    PhaseDiagramResult,
    RecoveryResult,
    ToyModelResult,
)
from interp.results.trojans import HuntResult, Localization, Removal, TriggerSearch

__all__ = [
    "PHASES",
    "SIGNIFICANT_DIGITS",
    "Agreement",
    "AttentionPatterns",
    "AttributionGraph",
    "CausalCheck",
    "CausalTrace",
    "Circuit",
    "DLAResult",
    "DecoderGeometryResult",
    "DimensionalitySweepResult",
    "EdgeCheck",
    "EdgeCircuit",
    "EdgeScores",
    "EditEvaluation",
    "FactRecall",
    "FactScore",
    "Faithfulness",
    "FaithfulnessCurve",
    "FeatureContext",
    "FeatureDLAResult",
    "FeatureDashboard",
    "FeatureIntervention",
    "Floats",
    "Floats2",
    "Floats3",
    "Generation",
    "GraphIntervention",
    "GraphPruning",
    "HeadCircuit",
    "HeadScores",
    "HuntResult",
    "InterventionCheck",
    "KnowledgeEdit",
    "KnownCircuitScore",
    "Localization",
    "LogitLensResult",
    "ModelFacts",
    "NextTokens",
    "PatchResult",
    "PhaseDiagramResult",
    "ProbeExperiment",
    "ProbeResult",
    "PromptFeatures",
    "RecoveryResult",
    "Removal",
    "SAEEvalResult",
    "SteeringEvaluation",
    "SteeringRow",
    "SteeringVector",
    "TaskMetrics",
    "ToyModelResult",
    "TrainingLog",
    "TranscoderEvalResult",
    "TriggerSearch",
    "load_folder",
    "load_graph",
    "load_json",
    "nested_tuple",
    "rounded",
    "save_folder",
    "save_graph",
    "save_json",
    "to_json",
]
