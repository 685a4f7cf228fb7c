"""Every result type of the library, in one package: frozen dataclasses whose fields carry their axis
names and labels, saved to JSON (rounded once, on saving) and loaded back.

    from interp.results import PatchResult, load_json, save_json

The types live in modules by subject (`model`, `circuits`, `probing`, `sae`, `superposition`), the JSON
round trip in `io`; this package re-exports all of them, so a result is imported from one place. Results
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
from interp.results.io import (
    SIGNIFICANT_DIGITS,
    Floats,
    Floats2,
    Floats3,
    load_json,
    nested_tuple,
    rounded,
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

__all__ = [
    "PHASES",
    "SIGNIFICANT_DIGITS",
    "Agreement",
    "AttentionPatterns",
    "CausalCheck",
    "Circuit",
    "DLAResult",
    "DecoderGeometryResult",
    "DimensionalitySweepResult",
    "Faithfulness",
    "FeatureContext",
    "FeatureDLAResult",
    "FeatureDashboard",
    "FeatureIntervention",
    "Floats",
    "Floats2",
    "Floats3",
    "HeadCircuit",
    "HeadScores",
    "LogitLensResult",
    "ModelFacts",
    "NextTokens",
    "PatchResult",
    "PhaseDiagramResult",
    "ProbeExperiment",
    "ProbeResult",
    "PromptFeatures",
    "RecoveryResult",
    "SAEEvalResult",
    "TaskMetrics",
    "ToyModelResult",
    "TrainingLog",
    "TranscoderEvalResult",
    "load_json",
    "nested_tuple",
    "rounded",
    "save_json",
    "to_json",
]
