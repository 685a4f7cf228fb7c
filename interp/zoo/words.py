"""Word lists and templates of IOI-style prompts (Wang et al., 2022, "Interpretability in the Wild").

Shared by the IOI task generator (`interp.tasks.generators`) and the zoo language model's training corpus
(`interp.zoo.corpus`), so the task asks exactly the sentence shapes the zoo model was trained on.
Every name, place and object is a single token in GPT-2's tokenizer with a leading space, and in the
zoo's word-level tokenizer, so clean and corrupted prompts tokenize to the same length.
"""

from __future__ import annotations

import zlib

__all__ = ["IOI_NAMES", "IOI_OBJECTS", "IOI_PLACES", "IOI_TEMPLATES", "is_heldout_pair", "name_pairs"]

# {N1} and {N2} are the two names of the opening clause; {S} repeats the subject. The indirect
# object (the answer) is the name of the pair that is not repeated. Each template ends right
# before the answer.
IOI_TEMPLATES: tuple[str, ...] = (
    "When {N1} and {N2} went to the {PLACE}, {S} gave a {OBJECT} to",
    "After {N1} and {N2} went to the {PLACE}, {S} gave a {OBJECT} to",
    "Then, {N1} and {N2} went to the {PLACE}. {S} gave a {OBJECT} to",
    "While {N1} and {N2} were working at the {PLACE}, {S} gave a {OBJECT} to",
    "When {N1} and {N2} got a {OBJECT} at the {PLACE}, {S} decided to give it to",
    "Then, {N1} and {N2} had a long argument, and afterwards {S} said to",
)

IOI_NAMES: tuple[str, ...] = (
    "Mary",
    "John",
    "Alice",
    "Bob",
    "Tom",
    "James",
    "Dan",
    "Sarah",
    "Kate",
    "Emma",
    "Anna",
    "Paul",
    "Mark",
    "Lisa",
    "Jane",
    "Mike",
    "David",
    "Ryan",
    "Adam",
    "Laura",
    "Grace",
    "Jack",
    "Sam",
    "Ben",
    "Max",
    "Rose",
    "Amy",
    "Joe",
    "Tim",
    "Eric",
    "Kevin",
    "Lucy",
    "Helen",
    "Peter",
    "Steve",
    "Carl",
    "Nick",
    "Luke",
    "Anne",
    "Chris",
)

IOI_PLACES: tuple[str, ...] = (
    "store",
    "park",
    "school",
    "office",
    "garden",
    "station",
    "market",
    "library",
    "beach",
    "hospital",
    "kitchen",
    "museum",
    "restaurant",
    "house",
    "church",
    "river",
)

IOI_OBJECTS: tuple[str, ...] = (
    "drink",
    "book",
    "ring",
    "ball",
    "letter",
    "gift",
    "key",
    "bag",
    "pen",
    "flower",
    "apple",
    "cake",
    "computer",
    "bottle",
    "basket",
    "snack",
)


def is_heldout_pair(first: str, second: str) -> bool:
    """Whether an unordered name pair is reserved for evaluation.

    The zoo language model never sees a held-out pair together in one IOI sentence during
    training, so its IOI accuracy on these pairs measures the mechanism, not memorised pairs.
    CRC32 (not `hash`) because Python salts string hashes per process.
    """
    key = "|".join(sorted((first, second))).encode()
    return zlib.crc32(key) % 5 == 0


def name_pairs(*, heldout: bool | None = None) -> list[tuple[str, str]]:
    """All ordered pairs of distinct names, optionally only the held-out (or only the training) ones."""
    pairs = [(a, b) for a in IOI_NAMES for b in IOI_NAMES if a != b]
    if heldout is None:
        return pairs
    return [p for p in pairs if is_heldout_pair(*p) == heldout]
