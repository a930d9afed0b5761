"""Everything that imports bpy, and nothing else (DESIGN.md section 2).

The Blender side (scene building, live link, viewport drawing, render engine, commands)
is built in its own issue; until then the extension registers no classes.
"""
