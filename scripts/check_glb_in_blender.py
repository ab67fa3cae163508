"""Import a face .glb in Blender headless and check that its shape-key animation plays.

    blender -b --factory-startup --python scripts/check_glb_in_blender.py -- FILE.glb [SHAPE]

Prints one JSON line (shape keys found, frame range, the values of SHAPE, default
jawOpen, at a few frames) and exits 1 if the mesh has no shape keys, lacks an ARKit
name, or SHAPE does not change over the frames. Runs inside Blender's own Python, so it
uses only bpy and the standard library.
"""

import json
import sys

import numpy

# Blender 3.4's glTF importer still calls numpy.bool, which numpy >= 1.24 removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

import bpy  # noqa: E402

args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
if not args:
    print("usage: blender -b --factory-startup --python check_glb_in_blender.py -- FILE.glb [SHAPE]")
    sys.exit(2)
path, shape = args[0], (args[1] if len(args) > 1 else "jawOpen")

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=path)
meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
report = {"meshes": len(meshes)}
failures = []
keyed = [o for o in meshes if o.data.shape_keys is not None]
if not keyed:
    failures.append("no mesh with shape keys")
else:
    mesh = keyed[0]
    keys = mesh.data.shape_keys
    names = [k.name for k in keys.key_blocks]
    report["vertices"] = len(mesh.data.vertices)
    report["shape_keys"] = len(names)
    report["first_keys"] = names[:4]
    action = keys.animation_data.action if keys.animation_data else None
    if action is None:
        failures.append("the shape keys have no animation")
    else:
        start, end = (int(round(x)) for x in action.frame_range)
        report["frame_range"] = [start, end]
        report["fps"] = bpy.context.scene.render.fps
        if shape not in names:
            failures.append(f"no shape key named {shape}")
        else:
            samples = {}
            for frame in sorted({start, (start + end) // 4, (start + end) // 2, 3 * (start + end) // 4, end}):
                bpy.context.scene.frame_set(frame)
                samples[frame] = round(keys.key_blocks[shape].value, 4)
            report[f"{shape}_by_frame"] = samples
            # The sparse morph target must have arrived: its key differs from the basis.
            count = len(mesh.data.vertices)
            basis, moved = [0.0] * (3 * count), [0.0] * (3 * count)
            keys.key_blocks[0].data.foreach_get("co", basis)
            keys.key_blocks[shape].data.foreach_get("co", moved)
            report[f"{shape}_max_offset"] = round(max(abs(a - b) for a, b in zip(basis, moved)), 5)
            if report[f"{shape}_max_offset"] == 0:
                failures.append(f"shape key {shape} moves no vertex")
            if len(set(samples.values())) < 2:
                failures.append(f"{shape} does not change over the frames")
report["failures"] = failures
print("CHECK_GLB " + json.dumps(report))
sys.exit(1 if failures else 0)
