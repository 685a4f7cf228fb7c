"""Run-time type checking for the test suite: every function and dataclass of `interp` and `sae` is
decorated, as it is imported, with jaxtyping's `jaxtyped` and this beartype checker (conftest.py installs
the hook before anything imports the library). Shapes (`Float[Tensor, "batch pos d_model"]`) are checked
against the other arguments of the same call; every other annotation is checked too.

One exception: the `Literal` choice types are checked as plain strings. The library checks choices itself
(`interp.vocab.choices.check_choice`), with the message users see; the tests assert that message, so beartype
must not answer first with its own.
"""

from typing import Literal, get_origin

from beartype import BeartypeConf, FrozenDict, beartype
from beartype.typing import Any

from interp.vocab import choices

_LITERALS = {value: str for value in vars(choices).values() if get_origin(value) is Literal}
# is_pep484_tower: an int is a float and a float a complex, as PEP 484 says and every caller of
# `sparsity: float = 8` expects; beartype is stricter by default.
_CONF = BeartypeConf(hint_overrides=FrozenDict(_LITERALS), is_pep484_tower=True)


def checked(fn: Any) -> Any:
    """beartype with the choices overridden (what jaxtyping's hook applies to every function and dataclass)."""
    return beartype(conf=_CONF)(fn)
