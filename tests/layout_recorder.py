"""A stand-in for ``bpy.types.UILayout`` that records the text a draw function shows, so panel
and preferences draw code can be checked headless (Blender draws no UI in background mode)."""

from types import SimpleNamespace


class RecordingLayout:
    """Records labels, progress texts, operator buttons and property names in ``texts``;
    sub-layouts (box, row, column, grid_flow, split) record into the same list."""

    def __init__(self, texts: list[str] | None = None):
        self.texts: list[str] = [] if texts is None else texts

    def _child(self, *args, **kwargs) -> "RecordingLayout":
        return RecordingLayout(self.texts)

    box = row = column = grid_flow = split = _child

    def label(self, *, text: str = "", **kwargs) -> None:
        self.texts.append(text)

    def progress(self, *, text: str = "", **kwargs) -> None:
        self.texts.append(text)

    def operator(self, idname: str, *, text: str = "", **kwargs) -> SimpleNamespace:
        self.texts.append(text or idname)
        return SimpleNamespace()

    def prop(self, data, name: str, **kwargs) -> None:
        self.texts.append(name)

    def separator(self, **kwargs) -> None:
        pass
