"""The vocabulary every layer speaks (layer 0): the `Literal` choice types of every option (`choices`) and the
model, SAE, progress and shape-dimension types (`types`). It imports nothing of the project."""

__all__: list[str] = []
