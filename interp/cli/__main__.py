"""`python -m interp.cli`: the `interp` command."""

import sys

from interp.cli import main

__all__: list[str] = []

sys.exit(main())
