"""Motion: body clips (BVH, and Blender's FBX importer through lca_addon) retargeted onto an
avatar's rig, and ARKit face curves (Live Link Face CSV, JSON, face capture from video)."""
