import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.avatar.lca_file import load_lca
from core.errors import LcaError
from core.model.tensor_file import read_tensor_file, write_tensor_file
from core.render.camera import project_points
from core.train.data.capture import load_capture
from core.train.data.shards import list_shards, read_shard
from core.train.data.subjects import draw_subject


def test_shards_hold_the_views_cameras_body_and_true_avatar(shard_dir, anny_body):
    paths = list_shards(shard_dir)
    assert [p.name for p in paths] == ["subject_000005.safetensors", "subject_000006.safetensors"]
    shard = read_shard(paths[0])
    assert shard.view_names == ("body0", "body1", "face")
    assert tuple(shard.images.shape) == (3, 32, 32, 3) and shard.masks.dtype == torch.uint8
    spec = json.loads(json.dumps(draw_subject(anny_body, 5).__dict__))  # tuples as lists
    assert shard.spec == spec
    # The person is in every view, and the true avatar beside the shard loads.
    assert all(float(m.float().mean()) > 10 for m in shard.masks)
    assert load_lca(paths[0].with_suffix(".lca")).count == 2000
    # Its vertices are the posed body: they project inside the image of each view.
    pixels, z = project_points(shard.camera(0), shard.vertices)
    assert float((z > 0).float().mean()) == 1.0 and float(pixels.min()) > -2


def test_subjects_are_drawn_from_their_seed(anny_body):
    assert draw_subject(anny_body, 3) == draw_subject(anny_body, 3)
    assert draw_subject(anny_body, 3) != draw_subject(anny_body, 4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, h: t["K"][1].fill_(0.0), "broken camera for view 1"),
        (lambda t, h: t.update(images=t["images"].float()), "broken image array"),
        (lambda t, h: t.update(masks=t["masks"][:, :4]), "masks that do not match"),
        (lambda t, h: t.pop("vertices"), "lacks 'vertices'"),
        (lambda t, h: h.update(schema=9), "not a version-1 shard"),
    ],
)
def test_broken_shards_are_refused_in_one_sentence(shard_dir, tmp_path, change, message):
    tensors, header = read_tensor_file(list_shards(shard_dir)[0], "Shard")
    change(tensors, header)
    write_tensor_file(tmp_path / "bad.safetensors", tensors, header)
    with pytest.raises(LcaError, match=message):
        read_shard(tmp_path / "bad.safetensors")


def test_empty_or_missing_data_folders(tmp_path):
    with pytest.raises(LcaError, match="holds no shards"):
        list_shards(tmp_path)
    with pytest.raises(LcaError, match="does not exist"):
        list_shards(tmp_path / "none")


def _capture(folder, matrix=None):
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    Image.fromarray(np.full((6, 8, 3), 200, np.uint8)).save(folder / "images" / "a.png")
    Image.fromarray(np.full((6, 8), 255, np.uint8)).save(folder / "masks" / "a.png")
    # A camera at z = 3 looking down -z (OpenGL axes): the origin is straight ahead.
    c2w = matrix or [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3], [0, 0, 0, 1]]
    frame = {"file_path": "images/a.png", "mask_path": "masks/a.png", "transform_matrix": c2w}
    data = {"fl_x": 10.0, "fl_y": 10.0, "cx": 4.0, "cy": 3.0, "w": 8, "h": 6, "frames": [frame]}
    (folder / "transforms.json").write_text(json.dumps(data))


def test_a_capture_folder_loads_with_opencv_cameras(tmp_path):
    _capture(tmp_path / "c")
    (view,) = load_capture(tmp_path / "c")
    assert tuple(view.rgb.shape) == (6, 8, 3) and float(view.mask.min()) == 1.0
    pixels, z = project_points(view.camera, torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    torch.testing.assert_close(pixels[0], torch.tensor([4.0, 3.0]))
    assert float(z[0]) == pytest.approx(3.0)
    assert float(pixels[1, 1]) < 3.0  # world up is image up


def test_bad_capture_folders_are_refused_in_one_sentence(tmp_path):
    with pytest.raises(LcaError, match="does not exist"):
        load_capture(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LcaError, match="is empty"):
        load_capture(tmp_path / "empty")
    _capture(tmp_path / "skew", matrix=[[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3], [0, 0, 0, 1]])
    with pytest.raises(LcaError, match="broken transform_matrix"):
        load_capture(tmp_path / "skew")
    _capture(tmp_path / "corrupt")
    (tmp_path / "corrupt" / "images" / "a.png").write_bytes(b"not a png")
    with pytest.raises(LcaError, match="not a readable image"):
        load_capture(tmp_path / "corrupt")
    _capture(tmp_path / "nojson")
    (tmp_path / "nojson" / "transforms.json").unlink()
    with pytest.raises(LcaError, match="no transforms.json"):
        load_capture(tmp_path / "nojson")
    _capture(tmp_path / "noframes")
    (tmp_path / "noframes" / "transforms.json").write_text("{}")
    with pytest.raises(LcaError, match="no 'frames'"):
        load_capture(tmp_path / "noframes")
