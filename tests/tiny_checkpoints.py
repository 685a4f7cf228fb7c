"""Tiny Hugging Face checkpoints that tests build and save themselves (never from a hub)."""

from __future__ import annotations

from pathlib import Path

import torch

VOCAB = 64


def save_tokenizer(folder: Path) -> None:
    from interp.zoo.corpus import save_word_tokenizer

    save_word_tokenizer([f"w{i}" for i in range(VOCAB - 3)], folder)


def build(kind: str, folder: Path, *, seed: int = 0):
    """Build a tiny random `kind` model ("gpt2", "llama" with grouped-query attention, "neox", "xlnet"),
    save it with its tokenizer to `folder`, and return the Hugging Face model."""
    import transformers as T

    torch.manual_seed(seed)
    common = {"vocab_size": VOCAB, "bos_token_id": 0, "eos_token_id": 0}
    if kind == "gpt2":
        model = T.GPT2LMHeadModel(T.GPT2Config(n_positions=32, n_embd=32, n_layer=2, n_head=4, **common))
    elif kind == "llama":
        model = T.LlamaForCausalLM(
            T.LlamaConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=32,
                pad_token_id=1,
                **common,
            )
        )
    elif kind == "neox":
        model = T.GPTNeoXForCausalLM(
            T.GPTNeoXConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=32,
                rotary_pct=0.5,
                **common,
            )
        )
    elif kind == "xlnet":
        model = T.XLNetLMHeadModel(T.XLNetConfig(d_model=32, n_layer=1, n_head=4, d_inner=64, **common))
    else:
        raise ValueError(kind)
    model.save_pretrained(folder)
    save_tokenizer(folder)
    return model.eval()
