"""`python -m sae.cli`: the `sae` command."""

import sys

from sae.cli import main

__all__: list[str] = []

sys.exit(main())
