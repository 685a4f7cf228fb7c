"""Generation with interventions (layer 4): `generate(model, prompts, ...)` -> Generation, with any intervention
value of interp.core.interventions active while it runs."""

from interp.generation.generate import chat_prompt, generate
from interp.generation.scoring import perplexity

__all__ = ["chat_prompt", "generate", "perplexity"]
