import pytest
import torch

from core.deform.frames import triangle_frames
from core.deform.template import (
    FACE_DENSITY,
    FEATURE_DENSITY,
    HAND_DENSITY,
    make_starter_avatar,
    region_density,
    sample_surface,
)
from core.render.sh import SH_C0


@pytest.fixture(scope="module")
def starter(anny_body):
    from core.body.anny_body import anny_uv_regions

    return make_starter_avatar(
        anny_body, count=100_000, seed=3, regions=anny_uv_regions(anny_body.uvs)
    )


def test_sampling_is_area_weighted_and_stratified():
    # Two triangles, the second with 3x the area of the first.
    vertices = torch.tensor(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 0, 0], [0, 3, 0]], dtype=torch.float32
    )
    faces = torch.tensor([[0, 1, 2], [0, 3, 4]])
    areas = torch.tensor([0.5, 4.5])
    g = torch.Generator().manual_seed(0)
    triangle, bary = sample_surface(vertices, faces, 1000, g)
    counts = torch.bincount(triangle, minlength=2).float()
    assert torch.allclose(counts, 1000 * areas / areas.sum(), atol=1.0)
    assert torch.allclose(bary.sum(-1), torch.ones(1000))
    assert (bary >= 0).all()


def test_starter_covers_the_body(anny_body, starter):
    assert starter.count == 100_000
    assert starter.body.model == "anny"
    assert set(starter.body.shape) == {p.name for p in anny_body.shape_parameters}
    # Every part of the body carries Gaussians.
    assert set(starter.binding.part.tolist()) == set(range(len(starter.part_names)))
    # Density follows area times the region density: triangles' counts track their share.
    frames = triangle_frames(starter.canonical_vertices[None], starter.faces)
    area = 0.5 * frames.size[0] ** 2 * region_density(anny_body, starter.canonical_vertices)
    counts = torch.bincount(starter.binding.triangle, minlength=area.shape[0]).float()
    expected = area / area.sum() * starter.count
    assert (counts - expected).abs().max() <= 1.0


def test_starter_colours_are_skin_with_dark_pupils(starter):
    colour = starter.binding.sh[:, 0] * SH_C0 + 0.5
    assert colour.min() >= 0 and colour.max() <= 1
    median = colour.median(dim=0).values
    assert median[0] > median[1] > median[2]  # skin: red > green > blue
    eyes = starter.binding.part == starter.part_names.index("eyes")
    assert colour[eyes].sum(-1).min() < 0.3  # some pupil/iris Gaussians are dark


def test_same_seed_same_avatar(anny_body):
    a = make_starter_avatar(anny_body, count=5_000, seed=7)
    b = make_starter_avatar(anny_body, count=5_000, seed=7)
    c = make_starter_avatar(anny_body, count=5_000, seed=8)
    assert torch.equal(a.binding.barycentric, b.binding.barycentric)
    assert not torch.equal(a.binding.barycentric, c.binding.barycentric)


def test_same_seed_same_file_bytes(anny_body):
    from core.avatar.lca_file import lca_bytes

    a = make_starter_avatar(anny_body, count=3_000, seed=11)
    b = make_starter_avatar(anny_body, count=3_000, seed=11)
    assert lca_bytes(a) == lca_bytes(b)


def test_faces_and_hands_get_several_times_the_torso_density(anny_body, starter):
    frames = triangle_frames(starter.canonical_vertices[None], starter.faces)
    area = 0.5 * frames.size[0] ** 2
    counts = torch.bincount(starter.binding.triangle, minlength=area.shape[0]).float()
    density = region_density(anny_body, starter.canonical_vertices)
    names = starter.part_names
    part = anny_body.vertex_parts[starter.faces[:, 0]]

    def per_area(mask):
        return float(counts[mask].sum() / area[mask].sum())

    torso = per_area(part == names.index("torso"))
    hands = per_area((part == names.index("hand.L")) | (part == names.index("hand.R")))
    # Sampling is stratified, so each region gets its density to within a few percent.
    assert hands > 0.9 * HAND_DENSITY * torso
    assert per_area(density == FACE_DENSITY) > 0.9 * FACE_DENSITY * torso
    assert per_area(density == FEATURE_DENSITY) > 0.9 * FEATURE_DENSITY * torso
    # Each disc is as wide as the spacing where it sits: hands' discs are smaller (the
    # geometric mean of the two tangent axes: finger discs are long and narrow).
    mean_log = starter.binding.log_scale[:, :2].mean(-1)
    width = mean_log.exp() * frames.size[0, starter.binding.triangle]
    on_hand = density[starter.binding.triangle] == HAND_DENSITY
    on_torso = part[starter.binding.triangle] == names.index("torso")
    expected = HAND_DENSITY**-0.5  # spacing ~ 1 / sqrt(density)
    assert float(width[on_hand].median()) < 1.2 * expected * float(width[on_torso].median())


def test_finger_discs_run_along_the_finger_and_others_are_round(anny_body, starter):
    from core.deform.template import FINGER_STRETCH, finger_directions

    shape = anny_body.default_shape(1)
    along = finger_directions(anny_body, shape, starter.faces)
    b = starter.binding
    on_finger = along[b.triangle].norm(dim=-1) > 0
    assert 0.02 < float(on_finger.float().mean()) < 0.2  # fingers only, and all ten of them
    ratio = (b.log_scale[:, 0] - b.log_scale[:, 1]).exp()
    assert torch.allclose(ratio[~on_finger], torch.ones(()), atol=1e-5)
    assert float(ratio[on_finger].max()) == pytest.approx(FINGER_STRETCH**2, rel=1e-4)
    # The long axis, turned into the world by the triangle's frame, lies along the finger
    # wherever the disc is stretched to the full.
    full = on_finger & (ratio > 0.999 * FINGER_STRETCH**2)
    frames = triangle_frames(starter.canonical_vertices[None], starter.faces).rotation[0]
    w, z = b.rotation[full, 0], b.rotation[full, 3]  # a turn about the normal (wxyz)
    spin = 2 * torch.atan2(z, w)
    local = torch.stack((spin.cos(), spin.sin(), torch.zeros_like(spin)), dim=-1)
    axis = (frames[b.triangle[full]] @ local[..., None])[..., 0]
    cosine = (axis * along[b.triangle[full]]).sum(-1).abs()
    assert float(cosine.min()) > 0.94


def test_nostrils_are_dark_under_the_nose(anny_body, starter):
    from core.deform.template import NOSTRIL_RADII, _nostril_centres

    colour = starter.binding.sh[:, 0] * SH_C0 + 0.5
    b = starter.binding
    corners = starter.canonical_vertices[starter.faces[b.triangle]]
    points = (corners * b.barycentric[..., None]).sum(1)
    centres = _nostril_centres(starter.canonical_vertices)
    assert centres.shape == (2, 3) and float(centres[0, 0]) * float(centres[1, 0]) < 0
    for centre in centres:
        near = (points - centre).norm(dim=-1) < 0.5 * min(NOSTRIL_RADII)
        assert near.sum() >= 2
        assert float(colour[near].sum(-1).mean()) < 0.8  # skin sums to about 1.5-2
