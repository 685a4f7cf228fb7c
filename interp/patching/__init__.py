"""Activation patching in its four forms: exact (`activation`, one run per patch, or `fast`: the same numbers with
far less work), path patching between components (`path`) and attribution patching to first order
(`attribution`).

    from interp.patching import patch, path_patch, attribution_patch
"""

from interp.patching.activation import exact_patch_values, patch
from interp.patching.attribution import attribution_patch, with_agreement
from interp.patching.path import parse_head, path_patch

__all__ = ["attribution_patch", "exact_patch_values", "parse_head", "patch", "path_patch", "with_agreement"]
