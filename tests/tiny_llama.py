"""A tiny random Llama that exercises what sets the family apart, and its multi-head twin.

`tiny_checkpoints.build("llama")` gives RMSNorm, rotary positions, a gated MLP, no biases anywhere and
grouped-query attention (4 query heads sharing 2 key/value heads). Here its weights are scaled up (at
Hugging Face's initialisation, std 0.02, every logit is ~0.1 and every attention pattern nearly uniform,
so conservation laws would hold by smallness), its RMSNorm weights made random (so that folding them into
the next weights matters), and its embeddings tied to the unembedding, as in Llama 3.2 and Gemma.

`build_mha_twin` writes the same function with 4 key/value heads: each query head gets its own copy of
the key/value head it shares, so a key/value head's patch on the GQA model is a patch of all its query
heads' copies on the twin, and a single query head's copy can be patched on the twin alone.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tests import tiny_checkpoints

SCALE = 8.0  # measured: logit differences of order 1 on induction prompts, attention far from uniform


def build_llama(folder: Path, *, n_layers: int = 2):
    """The tiny GQA Llama described above (`n_layers` deep), saved to `folder`; returns the Hugging Face model."""
    import transformers as T

    hf = tiny_checkpoints.build("llama", folder)
    if n_layers != hf.config.num_hidden_layers:
        hf.config.num_hidden_layers = n_layers
        torch.manual_seed(0)
        hf = T.LlamaForCausalLM(hf.config)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in hf.named_parameters():
            if name.endswith("norm.weight"):
                param.copy_(1 + 0.5 * torch.randn(param.shape, generator=gen))
            else:
                param.mul_(SCALE)
    hf.lm_head.weight = hf.model.embed_tokens.weight
    hf.config.tie_word_embeddings = True
    hf.save_pretrained(folder)  # safetensors keeps the shared tensor once
    return hf.eval()


def build_mha_twin(hf, folder: Path):
    """`hf` with every key/value head repeated for each query head that reads it, saved to `folder`."""
    import transformers as T

    cfg = hf.config.to_dict()
    n_heads, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    cfg["num_key_value_heads"] = n_heads
    twin = T.LlamaForCausalLM(T.LlamaConfig(**cfg))
    state = {k: v.clone() for k, v in hf.state_dict().items()}
    for key in [k for k in state if k.endswith(("k_proj.weight", "v_proj.weight"))]:
        w = state[key]
        # Hugging Face's repeat_kv gives query head h the key/value head h // (n_heads // n_kv)
        state[key] = w.reshape(n_kv, -1, w.shape[-1]).repeat_interleave(n_heads // n_kv, dim=0).flatten(0, 1)
    twin.load_state_dict(state, strict=False)  # lm_head is tied to the embedding
    twin.save_pretrained(folder)
    tiny_checkpoints.save_tokenizer(folder)
    return twin.eval()
