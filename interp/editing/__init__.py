"""Knowledge editing (layer 4): facts and where a prompt holds its subject (`facts`), causal tracing (`tracing`), the
MLP keys' statistics (`keys`), ROME and MEMIT edits (`rome`), their evaluation (`assess`) and the edited model's
folder (`edited`)."""

from interp.editing.assess import UNRELATED, evaluate_edit, recall_facts
from interp.editing.edited import check_edit_folder, save_edited_model
from interp.editing.facts import FACTS_FILE, Fact, answer_ids, load_facts, neighbours, subject_positions
from interp.editing.keys import key_second_moment
from interp.editing.rome import EditConfig, default_layer, edit_facts, memit_update, rome_update
from interp.editing.tracing import TRACE_SITES, causal_trace, model_answer

__all__ = [
    "FACTS_FILE",
    "TRACE_SITES",
    "UNRELATED",
    "EditConfig",
    "Fact",
    "answer_ids",
    "causal_trace",
    "check_edit_folder",
    "default_layer",
    "edit_facts",
    "evaluate_edit",
    "key_second_moment",
    "load_facts",
    "memit_update",
    "model_answer",
    "neighbours",
    "recall_facts",
    "rome_update",
    "save_edited_model",
    "subject_positions",
]
