"""Generated training data, vocabularies and word-level tokenizers of the zoo models.

The zoo's own models use word-level tokenizers built here with `tokenizers` and saved with
`save_pretrained`, so loading them never touches a hub (a tokenizer named by a hub id would).
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

from interp.zoo.words import IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATES, is_heldout_pair

__all__ = [
    "BOS_ID",
    "LOOKUP_FILLERS",
    "LOOKUP_TABLE",
    "SPECIAL_TOKENS",
    "lang_documents",
    "lang_vocab",
    "lookup_vocab",
    "repeated_sequences",
    "save_word_tokenizer",
    "syllable_vocab",
]

SPECIAL_TOKENS = ("<bos>", "<pad>", "<unk>")
BOS_ID = 0

# ---- induction-2l: random "syllable" tokens -------------------------------------------------


def syllable_vocab(n_words: int, *, seed: int = 0) -> list[str]:
    """`n_words` distinct consonant-vowel-consonant words: readable token labels in plots."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words = ["".join(t) for t in itertools.product(consonants, vowels, consonants)]
    random.Random(seed).shuffle(words)
    return sorted(words[:n_words])


def repeated_sequences(
    n_seqs: int, *, n_ctx: int, d_vocab: int, min_len: int, max_len: int, generator: torch.Generator, max_gap: int = 6
) -> Int[Tensor, "batch pos"]:
    """BOS, then segments "noise A noise A" of uniform random tokens, back to back.

    Each segment's length, and the noise gaps (0..`max_gap` tokens) before and between its two
    copies, are drawn afresh, so neither the copy's absolute position nor its distance from the
    original says where to look: only the tokens do. With one fixed length (or copies always
    adjacent) a model can solve the task from positions instead of learning induction.
    The last segment is cut at `n_ctx`.
    """
    first_id = len(SPECIAL_TOKENS)
    tokens = torch.randint(first_id, d_vocab, (n_seqs, n_ctx), generator=generator)
    tokens[:, 0] = BOS_ID
    draw = lambda lo, hi: int(torch.randint(lo, hi + 1, (1,), generator=generator))  # noqa: E731
    for i in range(n_seqs):
        pos = 1
        while pos < n_ctx:
            length = draw(min_len, max_len)
            src = pos + draw(0, max_gap)
            dst = src + length + draw(0, max_gap)
            n_copy = max(0, min(length, n_ctx - dst))
            tokens[i, dst : dst + n_copy] = tokens[i, src : src + n_copy]
            pos = dst + length
    return tokens


# ---- lang-4l: sentences from template families ----------------------------------------------

ADJECTIVES = ("big", "small", "old", "new", "quiet", "busy", "bright", "dark", "warm", "cold")
FOODS = ("bread", "rice", "soup", "fish", "cheese", "pasta", "salad", "eggs")
FILLERS = (
    "red",
    "blue",
    "green",
    "stone",
    "cloud",
    "river",
    "tree",
    "bird",
    "lamp",
    "chair",
    "window",
    "door",
    "paper",
    "music",
    "light",
    "road",
    "hill",
    "star",
    "moon",
    "sun",
    "glass",
    "wood",
    "sand",
    "snow",
    "rain",
    "wind",
    "fire",
    "salt",
    "milk",
    "tea",
)
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
PUNCTUATION = (",", ".", ":")


def lang_vocab() -> list[str]:
    """Every word the lang-4l corpus can produce, in a fixed order (ids are stable)."""
    template_words = {
        w for t in IOI_TEMPLATES for w in t.replace(",", " ").replace(".", " ").split() if not w.startswith("{")
    }
    extra = {"likes", "the", "is", "lives", "near", "The", "wrote", "read", "eats", "counted", "said"}
    words = (
        set(IOI_NAMES)
        | set(IOI_PLACES)
        | set(IOI_OBJECTS)
        | set(ADJECTIVES)
        | set(FOODS)
        | set(FILLERS)
        | set(NUMBERS)
        | template_words
        | extra
    )
    return list(PUNCTUATION) + sorted(words)


def _ioi_sentence(rng: random.Random) -> str:
    """A completed IOI sentence whose name pair is not held out for evaluation."""
    while True:
        io, s = rng.sample(IOI_NAMES, 2)
        if not is_heldout_pair(io, s):
            break
    n1, n2 = (io, s) if rng.random() < 0.5 else (s, io)
    prompt = rng.choice(IOI_TEMPLATES).format(
        N1=n1, N2=n2, S=s, PLACE=rng.choice(IOI_PLACES), OBJECT=rng.choice(IOI_OBJECTS)
    )
    return f"{prompt} {io} ."


def _fact_sentence(rng: random.Random) -> str:
    name = rng.choice(IOI_NAMES)
    return rng.choice(
        (
            f"{name} likes the {rng.choice(IOI_OBJECTS)} .",
            f"The {rng.choice(IOI_PLACES)} is {rng.choice(ADJECTIVES)} .",
            f"{name} lives near the {rng.choice(IOI_PLACES)} .",
            f"{name} eats {rng.choice(FOODS)} .",
        )
    )


def _copy_sentence(rng: random.Random) -> str:
    """A word list said twice, in a frame: the repetition that makes induction heads useful."""
    words = " ".join(rng.choices(FILLERS, k=rng.randint(3, 8)))
    a, b = rng.sample(IOI_NAMES, 2)
    return f"{a} wrote : {words} . {b} read : {words} ."


def _random_repeat(rng: random.Random) -> str:
    """Words drawn from the whole vocabulary, then repeated verbatim with no frame.

    Without this family induction only forms for filler words in the "wrote/read" frame, and the
    model fails on the standard test (repeated random tokens) that head scores use.
    """
    words = " ".join(rng.choices(_all_words(), k=rng.randint(4, 16)))
    return f"{words} {words}"


def _all_words() -> list[str]:
    global _WORDS
    if _WORDS is None:
        _WORDS = [w for w in lang_vocab() if w not in PUNCTUATION]
    return _WORDS


_WORDS: list[str] | None = None


def _count_sentence(rng: random.Random) -> str:
    start = rng.randint(0, 5)
    return f"{rng.choice(IOI_NAMES)} counted : " + " ".join(NUMBERS[start : start + rng.randint(3, 5)]) + " ."


# (family, weight): IOI dominates so the mechanism has enough signal to form in a short CPU run.
SENTENCE_FAMILIES = (
    (_ioi_sentence, 0.45),
    (_fact_sentence, 0.15),
    (_copy_sentence, 0.1),
    (_random_repeat, 0.2),
    (_count_sentence, 0.1),
)


def lang_documents(n_docs: int, *, n_words: int, seed: int) -> list[str]:
    """`n_docs` texts of at least `n_words` words, each a run of sentences from mixed families."""
    rng = random.Random(seed)
    families, weights = zip(*SENTENCE_FAMILIES)
    docs = []
    for _ in range(n_docs):
        sentences: list[str] = []
        length = 0
        while length < n_words:
            sentence = rng.choices(families, weights)[0](rng)
            sentences.append(sentence)
            length += len(sentence.replace(",", " ,").split())
        docs.append(" ".join(sentences))
    return docs


# ---- kc-lookup: a fixed table from key words to value words --------------------------------------

# The bijection g that zoo:kc-lookup computes and the lookup task asks (interp.tasks.generators.lookup_task): keys are
# animals, values fruits, paired arbitrarily so that no pairing can be guessed from the words.
LOOKUP_TABLE: dict[str, str] = {
    "ant": "plum",
    "bee": "lime",
    "cat": "pear",
    "cow": "fig",
    "dog": "kiwi",
    "elk": "apple",
    "fox": "grape",
    "hen": "melon",
    "owl": "date",
    "pig": "lemon",
}
LOOKUP_FILLERS: tuple[str, ...] = ("so", "then", "and", "well", "now", "yes", "but", "or", "ok")
"""Words between the key and the answer: neither keys nor values."""


def lookup_vocab() -> list[str]:
    """kc-lookup's words in a fixed order: keys, values, fillers."""
    return [*LOOKUP_TABLE, *LOOKUP_TABLE.values(), *LOOKUP_FILLERS]


# ---- tokenizers --------------------------------------------------------------------------------


def save_word_tokenizer(words: list[str], folder: Path) -> None:
    """Save a word-level tokenizer (specials first, then `words`) loadable by AutoTokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate([*SPECIAL_TOKENS, *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    # Punctuation splits "store," into "store" and ","; the WordPiece decoder joins words with spaces.
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<bos>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.save_pretrained(str(folder))
