"""Body fitting: the Anny body's shape, and each photo's pose, expression and camera.

``fit_body`` fits one body shape shared by every photo and, per photo, the bone rotations,
the ARKit expression and the camera, so that the posed body's landmarks (``landmark_map``)
project onto what MediaPipe saw. Adam on CPU, a few hundred steps, no randomness.

Parametrisation while fitting: each photo's camera is fixed at the world origin looking
along +Y (Z up) with K from the photo size and the assumed field of view; the root bone's
rotation and translation place the body in front of it. At the end the root's heading (its
rotation about the up axis) and its translation move into the camera, so every fitted body
stands at the origin facing about -Y (tilts stay in the root) and the cameras stand around it.

Losses (docs/recon.md has the weights and why): robust 2D reprojection of the 33 body
landmarks (weighted by visibility), of the 21 points of each seen hand and of 148 face-mesh
points; the 3D directions of the torso and limbs against MediaPipe's world landmarks (which
settle what a single photo cannot: whether a limb points towards or away from the camera);
projected vertices inside the person mask; priors on pose (towards the canonical pose,
elbows and knees as hinges within their range), shape (towards the average) and expression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..body.model import BodyModel
from ..body.poses import Pose
from ..errors import LcaError
from ..quaternion import axis_angle_to_rotmat, rotmat_to_quat
from ..render.camera import camera_to_pixels, intrinsics, project_points
from ..render.types import Camera
from .fit_types import BodyFit, FittedView, Progress, no_progress
from .landmark_map import AnnyLandmarks, anny_landmarks
from .perception import Perception

#: With no field of view given, the focal length of a 40 mm lens on a 35 mm-equivalent
#: sensor (diagonal 43.27 mm), from the photo's diagonal: between phones' 24-28 mm main
#: cameras and the 50-85 mm of portrait and stock photos (the one shared photo with EXIF was
#: shot at 73 mm). A full body seen from a few metres looks nearly the same through any of
#: them; the distance absorbs the difference.
DEFAULT_FOCAL_35MM = 40.0

#: The expressions fitted against the face mesh; the other ARKit values stay 0.
FITTED_EXPRESSIONS = (
    "jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthPucker",
    "mouthFunnel", "browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft",
    "browOuterUpRight",
)  # fmt: skip

#: Bones fitted, with the weight of their pull towards the canonical pose (per radian^2).
#: The rest (pelvis, twist bones, metacarpals, toes, eyes) stay at the canonical pose.
BONE_PRIORS = {
    **{f"spine0{i}": 0.3 for i in range(1, 6)},
    "neck01": 0.2, "neck02": 0.2, "neck03": 0.2, "head": 0.2,
    **{f"clavicle.{s}": 0.5 for s in "LR"},
    **{f"upperarm01.{s}": 0.01 for s in "LR"}, **{f"lowerarm01.{s}": 0.01 for s in "LR"},
    **{f"wrist.{s}": 0.05 for s in "LR"},
    **{f"upperleg01.{s}": 0.01 for s in "LR"}, **{f"lowerleg01.{s}": 0.01 for s in "LR"},
    **{f"foot.{s}": 0.1 for s in "LR"},
    **{f"finger{f}-{j}.{s}": 0.02 for f in range(1, 6) for j in (1, 2, 3) for s in "LR"},
}  # fmt: skip

#: Trust in each Pose landmark (times its visibility): joints 1, face points 0.5 (0.15 when
#: the face mesh was seen), Pose's hand points 0.3 (0 when that hand was seen), feet 0.7.
BODY_TRUST = (0.5,) * 11 + (1.0,) * 6 + (0.3,) * 6 + (1.0,) * 6 + (0.7,) * 4

# Loss weights and robust scales (fractions of the person's, hand's or face's size).
W_BODY, W_HAND, W_FACE, W_DIRECTION, W_SILHOUETTE = 1.0, 0.3, 0.3, 2.0, 2.0
W_LIMIT, W_HINGE, W_SHAPE, W_EXPRESSION = 10.0, 0.3, 0.05, 0.03
SIGMA_BODY, SIGMA_HAND, SIGMA_FACE = 0.005, 0.1, 0.05

# Adam step sizes (radians, metres, shape and expression units); the last half decays to 10%.
_LEARNING_RATES = {
    "root": 0.03,
    "translation": 0.03,
    "bones": 0.03,
    "shape": 0.01,
    "expression": 0.03,
}
# Torso and limb segments (Pose landmark numbers) compared with the world landmarks.
_SEGMENTS = ((11, 12), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27),
             (24, 26), (26, 28), (11, 23), (12, 24))  # fmt: skip
# Hinges: (bone, landmarks of the three joints around it) and the flexion range (radians).
_HINGES = (("lowerarm01.L", (11, 13, 15)), ("lowerarm01.R", (12, 14, 16)),
           ("lowerleg01.L", (23, 25, 27)), ("lowerleg01.R", (24, 26, 28)))  # fmt: skip
_FLEXION = (-0.1, 2.6)  # from 6 degrees past straight to 150 degrees bent
# Limbs for the initial pose: upper bone, hinge bone, end bone, Pose landmarks of the joints.
_LIMBS = tuple(
    (f"upper{limb}01.{s}", f"lower{limb}01.{s}", f"{end}.{s}", joints)
    for limb, end, left in (("arm", "wrist", (11, 13, 15)), ("leg", "foot", (23, 25, 27)))
    for s, joints in (("L", left), ("R", tuple(i + 1 for i in left)))
)
# Initial bone rotations (radians about (1, 1, 1)): small but away from zero.
_NUDGE = 1e-3 / math.sqrt(3)
# World -> camera rotation of the fixed fitting camera: x = X, y = -Z, z = Y.
_R0 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def fit_body(
    body: BodyModel,
    perceptions: list[Perception],
    *,
    steps: int = 300,
    fov_y_deg: float | None = None,
    shape: Tensor | None = None,
    progress: Progress = no_progress,
) -> BodyFit:
    """Fit ``body`` (Anny) to one or more photos of one person.

    Args:
        body: the body model (Anny's default mesh; its landmark tables are in landmark_map).
        perceptions: one per photo, from ``perceive``; all show the same person.
        steps: Adam steps (the first 30% fit the camera and body pose only).
        fov_y_deg: the photos' vertical field of view; None assumes a 40 mm-equivalent lens
            (``DEFAULT_FOCAL_35MM``).
        shape: (S,) a known body shape to keep (e.g. from other photos of the person): only
            the poses, expressions and cameras are fitted; None fits the shape too.
        progress: called as progress("fitting body", fraction).

    Returns:
        BodyFit: shape (S,), one FittedView per photo (pose rotations (J, 3), the 52
        expressions, zero translation, and the OpenCV camera), and the final loss.

    Raises:
        LcaError: no perceptions, or a body whose landmarks are unknown.
    """
    if not perceptions:
        raise LcaError(
            "Body fitting got no photos; perceive at least one photo of the person first."
        )
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    marks = anny_landmarks(body.bone_names, int(body.skinning_weights.shape[0]))
    dtype = torch.float32
    targets = _targets(perceptions, marks, fov_y_deg, dtype)
    problem = _Problem(body, marks, targets)
    params = problem.initial_parameters()
    fitted = tuple(params)
    if shape is not None:
        with torch.no_grad():
            params["shape"].copy_(shape.detach().to(params["shape"]).reshape(params["shape"].shape))
        fitted = tuple(n for n in params if n != "shape")
    warmup = max(1, round(0.3 * steps))
    for phase, (count, names) in enumerate(
        ((warmup, ("root", "translation", "bones")), (steps - warmup, fitted))
    ):
        optimiser = torch.optim.Adam(
            [{"params": [params[n]], "lr": _LEARNING_RATES[n]} for n in names]
        )
        for step in range(count):
            fraction = step / max(count, 1)
            for group, name in zip(optimiser.param_groups, names, strict=True):
                # hold the rate, then decay it linearly to 10% over the last half
                group["lr"] = _LEARNING_RATES[name] * min(1.0, 1.9 - 1.8 * fraction)
            optimiser.zero_grad(set_to_none=True)
            total = problem.loss(params, full=phase == 1)
            total.backward()
            problem.mask_gradients(params)
            optimiser.step()
            with torch.no_grad():
                params["shape"].clamp_(0.0, 1.0)
                params["expression"].clamp_(0.0, 1.0)
            done = (warmup if phase else 0) + step + 1
            if done % 10 == 0 or done == steps:
                progress("fitting body", done / steps)
    with torch.no_grad():
        final = float(problem.loss(params, full=True))
    return problem.result(params, final, perceptions)


def fitted_landmarks(body: BodyModel, fit: BodyFit) -> list[Tensor]:
    """Pixels (33, 2) of the fitted body's Pose landmarks in each view's photo, in view order."""
    marks = anny_landmarks(body.bone_names, int(body.skinning_weights.shape[0]))
    pixels = []
    for view in fit.views:
        with torch.no_grad():
            out = body.forward(
                fit.shape[None],
                view.pose.rotations[None],
                view.pose.expression[None],
                view.pose.translation[None],
            )
            points = marks.body.points(out.vertices, out.bone_transforms[..., :3, 3])[0]
            pixels.append(project_points(view.camera, points, min_depth=1e-6)[0])
    return pixels


# -- targets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Targets:
    """What the photos say, stacked over the B views.

    body: (B, 33, 2) pixels; body_weight: (B, 33) trust times visibility; body_scale: (B,)
    person size in pixels; world: (B, 33, 3) MediaPipe world landmarks (camera axes);
    hands: (B, 2, 21, 2) pixels (left, right); hand_weight, hand_scale: (B, 2);
    face: (B, F, 2) pixels; face_weight, face_scale: (B,); mask: (B, 1, M, M) soft person
    mask; K: (B, 3, 3); sizes: B (width, height).
    """

    body: Tensor
    body_weight: Tensor
    body_scale: Tensor
    world: Tensor
    hands: Tensor
    hand_weight: Tensor
    hand_scale: Tensor
    face: Tensor
    face_weight: Tensor
    face_scale: Tensor
    mask: Tensor
    K: Tensor
    sizes: tuple[tuple[int, int], ...]


def _targets(
    perceptions: list[Perception], marks: AnnyLandmarks, fov_y_deg: float | None, dtype
) -> _Targets:
    rows: dict[str, list] = {key: [] for key in _Targets.__dataclass_fields__ if key != "sizes"}
    face_index = marks.face_index.numpy()
    for seen in perceptions:
        width, height = seen.photo.width, seen.photo.height
        if fov_y_deg is None:
            focal = math.hypot(width, height) * DEFAULT_FOCAL_35MM / 43.27
            rows["K"].append(intrinsics(width, height, focal_px=focal, dtype=dtype))
        else:
            rows["K"].append(intrinsics(width, height, fov_y_deg=fov_y_deg, dtype=dtype))
        trust = np.array(BODY_TRUST, dtype=np.float32)
        if seen.face is not None:
            trust[:11] = 0.15
        hands = []
        for side, hand in enumerate((seen.left_hand, seen.right_hand)):
            if hand is not None:
                trust[[17 + side, 19 + side, 21 + side]] = 0.0
            hands.append(hand)
        body = seen.body
        rows["body"].append(_tensor(body.pixels))
        rows["body_weight"].append(_tensor(trust * np.clip(body.visibility, 0, 1)))
        rows["body_scale"].append(torch.tensor(max(seen.box.width, seen.box.height, 1.0)))
        rows["world"].append(_tensor(body.world))
        rows["hands"].append(torch.stack([_points(h.pixels if h else None, 21) for h in hands]))
        rows["hand_weight"].append(torch.tensor([float(h is not None) for h in hands]))
        rows["hand_scale"].append(torch.tensor([_spread(h.pixels if h else None) for h in hands]))
        face = seen.face.pixels[face_index] if seen.face is not None else None
        rows["face"].append(_points(face, len(face_index)))
        rows["face_weight"].append(torch.tensor(float(face is not None)))
        rows["face_scale"].append(torch.tensor(_spread(face)))
        rows["mask"].append(_soft_mask(seen.mask))
    stacked = {key: torch.stack(value).to(dtype) for key, value in rows.items()}
    sizes = tuple((p.photo.width, p.photo.height) for p in perceptions)
    return _Targets(**stacked, sizes=sizes)


def _tensor(array: np.ndarray) -> Tensor:
    """A float32 tensor copy of a (possibly read-only) array."""
    return torch.from_numpy(np.array(array, dtype=np.float32))


def _points(pixels: np.ndarray | None, count: int) -> Tensor:
    return torch.zeros(count, 2) if pixels is None else _tensor(pixels)


def _spread(pixels: np.ndarray | None) -> float:
    """RMS distance of the points from their centre (a size that ignores rotation)."""
    if pixels is None:
        return 1.0
    centred = pixels - pixels.mean(axis=0)
    return max(float(np.sqrt((centred**2).sum(axis=1).mean())), 1.0)


def _soft_mask(mask: np.ndarray, size: int = 160) -> Tensor:
    """(H, W) person probability -> (1, size, size) blurred over several widths, so that a
    vertex outside the person feels a pull back from up to ~20% of the photo away."""
    small = F.interpolate(_tensor(mask)[None, None], (size, size), mode="area")
    blurred = [small] + [
        F.avg_pool2d(small, k, stride=1, padding=k // 2, count_include_pad=False)
        for k in (5, 15, 45)
    ]
    return torch.cat(blurred).mean(dim=0)


# -- the problem --------------------------------------------------------------------------


class _Problem:
    """The fitting objective over the parameters of every view."""

    def __init__(self, body: BodyModel, marks: AnnyLandmarks, targets: _Targets) -> None:
        self.body, self.marks, self.t = body, marks, targets
        names = body.bone_names
        self.views = targets.body.shape[0]
        self.prior = torch.zeros(len(names))
        for name, weight in BONE_PRIORS.items():
            self.prior[names.index(name)] = weight
        # (B, J, 1) 1 for the bones fitted in each view: fingers only where their hand was seen
        self.free = (self.prior > 0).float()[None, :, None].repeat(self.views, 1, 1)
        for side, hand in enumerate("LR"):
            fingers = [j for j, n in enumerate(names) if n.startswith("finger") and n[-1] == hand]
            self.free[:, fingers] *= targets.hand_weight[:, side, None, None]
        self.expression_index = torch.tensor(
            [body.expression_names.index(name) for name in FITTED_EXPRESSIONS]
        )
        with torch.no_grad():
            rest = body.forward()
            rest_points = marks.body.points(rest.vertices, rest.bone_transforms[..., :3, 3])[0]
        self.hinges = [
            (names.index(bone), *_hinge(rest_points[list(joints)], bone))
            for bone, joints in _HINGES
        ]
        self.rest_heads = rest.bone_transforms[0, :, :3, 3]
        # fingers join in the second phase
        self.finger = torch.tensor([n.startswith("finger") for n in names]).float()[:, None]
        self.surface = torch.arange(0, body.skinning_weights.shape[0], 4)

    def initial_parameters(self) -> dict[str, Tensor]:
        t = self.t
        roots, translations = [], []
        for v in range(self.views):
            rotation, translation = _initial_placement(
                t.body[v], t.body_weight[v], t.world[v], t.K[v]
            )
            roots.append(rotation)
            translations.append(translation)
        body = self.body
        # a tiny start off zero, from when axis_angle_to_rotmat had no gradient there; the
        # fit results in docs/recon.md were measured with it, so it stays
        bones = torch.full((self.views, len(body.bone_names), 3), _NUDGE) * self.free
        for v in range(self.views):
            self._initial_limbs(bones[v], axis_angle_to_rotmat(roots[v]), t.world[v])
        params = {
            "root": torch.stack(roots),
            "translation": torch.stack(translations),
            "bones": bones,
            "shape": body.default_shape(1).detach().clone().float(),
            "expression": torch.zeros(self.views, len(FITTED_EXPRESSIONS)),
        }
        for value in params.values():
            value.requires_grad_(True)
        return params

    def _initial_limbs(self, bones: Tensor, root: Tensor, world: Tensor) -> None:
        """Point each arm and leg (in ``bones`` (J, 3), in place) along MediaPipe's world
        landmarks (camera axes): the upper bone turns so that the limb's hinge axis faces the
        way the limb bends, the hinge bone then bends about that axis only."""
        names = self.body.bone_names
        heads = self.rest_heads
        hinges = {bone: axis for bone, axis, _, _ in self.hinges}
        for upper, hinge, end, (a, b, c) in _LIMBS:
            i, j, k = names.index(upper), names.index(hinge), names.index(end)
            # in the rest frame: target and rest directions of both segments
            near = root.T @ _R0.T @ (world[b] - world[a])
            far = root.T @ _R0.T @ (world[c] - world[b])
            if near.norm() < 1e-6 or far.norm() < 1e-6:
                continue
            first = _aligning_rotation(heads[j] - heads[i], hinges[j], near, far)
            rest_far = heads[k] - heads[j]
            bend = _bend_about(hinges[j], rest_far, first.T @ far)
            bones[i] = _rotmat_to_rotvec(first) + _NUDGE
            bones[j] = hinges[j] * bend + _NUDGE

    def mask_gradients(self, params: dict[str, Tensor]) -> None:
        if params["bones"].grad is not None:
            params["bones"].grad *= self.free

    def pose(self, params: dict[str, Tensor], full: bool) -> Tensor:
        """(B, J, 3): the fitted bones, fingers only in the full phase, the root first."""
        keep = self.free if full else self.free * (1 - self.finger)
        bones = params["bones"] * keep
        return torch.cat((params["root"][:, None], bones[:, 1:]), dim=1)

    def expression(self, params: dict[str, Tensor]) -> Tensor:
        """(B, E): the fitted expressions; neutral in views without a face mesh."""
        fitted = params["expression"] * self.t.face_weight[:, None]
        values = torch.zeros(self.views, len(self.body.expression_names))
        return values.index_copy(1, self.expression_index, fitted)

    def loss(self, params: dict[str, Tensor], full: bool) -> Tensor:
        """The objective; ``full`` adds hands, face, silhouette, shape and expression."""
        t, B = self.t, self.views
        pose = self.pose(params, full)
        out = self.body.forward(
            params["shape"].expand(B, -1),
            pose,
            self.expression(params) if full else None,
            params["translation"],
        )
        heads = out.bone_transforms[..., :3, 3]
        body_points = _to_camera(self.marks.body.points(out.vertices, heads))  # (B, 33, 3)
        scale = SIGMA_BODY * t.body_scale
        body = _reprojection(self._pixels(body_points), t.body, t.body_weight, scale)
        total = W_BODY * body.sum() / (B * sum(BODY_TRUST))
        total = total + W_DIRECTION * _direction_loss(body_points, t.world, t.body_weight)
        total = total + self._prior(pose)
        if not full:
            return total
        for side, marks in enumerate((self.marks.left_hand, self.marks.right_hand)):
            pixels = self._pixels(_to_camera(marks.points(out.vertices, heads)))
            weight = t.hand_weight[:, side, None].expand(-1, pixels.shape[1])
            scale = SIGMA_HAND * t.hand_scale[:, side]
            hand = _reprojection(pixels, t.hands[:, side], weight, scale)
            total = total + W_HAND * hand.mean()
        pixels = self._pixels(_to_camera(self.marks.face.points(out.vertices, heads)))
        weight = t.face_weight[:, None].expand(-1, pixels.shape[1])
        face = _reprojection(pixels, t.face, weight, SIGMA_FACE * t.face_scale)
        total = total + W_FACE * face.mean()
        surface = self._pixels(_to_camera(out.vertices[:, self.surface]))
        total = total + W_SILHOUETTE * self._outside(surface)
        total = total + W_SHAPE * ((params["shape"] - 0.5) ** 2).sum()
        return total + W_EXPRESSION * (params["expression"] ** 2).sum() / B

    def _pixels(self, local: Tensor) -> Tensor:
        """Camera-space points (B, P, 3) -> pixels (B, P, 2)."""
        return camera_to_pixels(self.t.K, local, min_depth=0.05)

    def _outside(self, pixels: Tensor) -> Tensor:
        """Mean of (1 - soft mask) at the projected vertices (B, P, 2)."""
        size = torch.tensor(self.t.sizes, dtype=pixels.dtype)[:, None, :]
        grid = (2 * pixels / size - 1)[:, :, None, :]  # (B, P, 1, 2) in [-1, 1]
        inside = F.grid_sample(self.t.mask, grid, align_corners=False, padding_mode="zeros")
        return (1 - inside).mean()

    def _prior(self, pose: Tensor) -> Tensor:
        """Pull towards the canonical pose; elbows and knees bend about their hinge axis only,
        from straight (a little past) to fully bent."""
        bones = pose[:, 1:]
        total = (self.prior[1:, None] * bones**2).sum() / self.views
        for bone, axis, low, high in self.hinges:
            rotation = pose[:, bone]
            flexion = rotation @ axis
            off_axis = rotation - flexion[:, None] * axis
            limit = F.relu(low - flexion) ** 2 + F.relu(flexion - high) ** 2
            total = total + (W_LIMIT * limit + W_HINGE * (off_axis**2).sum(-1)).sum() / self.views
        return total

    def result(
        self, params: dict[str, Tensor], loss: float, perceptions: list[Perception]
    ) -> BodyFit:
        pose = self.pose(params, full=True).detach()
        expression = self.expression(params).detach()
        views = []
        for v in range(self.views):
            root = axis_angle_to_rotmat(pose[v, 0])
            heading = _heading(root)
            tilt = heading.T @ root
            rotations = pose[v].clone()
            rotations[0] = _rotmat_to_rotvec(tilt)
            world_to_camera = torch.eye(4)
            world_to_camera[:3, :3] = _R0 @ heading
            world_to_camera[:3, 3] = _R0 @ params["translation"][v].detach()
            width, height = self.t.sizes[v]
            camera = Camera(self.t.K[v], world_to_camera, width, height)
            views.append(
                FittedView(
                    perception=perceptions[v],
                    pose=Pose(rotations, expression[v], torch.zeros(3)),
                    camera=camera,
                )
            )
        return BodyFit(shape=params["shape"].detach()[0].clone(), views=tuple(views), loss=loss)


# -- helpers ------------------------------------------------------------------------------


def _to_camera(points: Tensor) -> Tensor:
    """World points (..., 3) -> camera axes of the fixed fitting camera at the origin."""
    return points @ _R0.T


def _reprojection(pixels: Tensor, target: Tensor, weight: Tensor, scale: Tensor) -> Tensor:
    """Robust (pseudo-Huber) distances: pixels, target (B, P, 2), weight (B, P), scale (B,)
    -> (B, P) weighted sqrt(1 + (d / scale)^2) - 1."""
    distance2 = ((pixels - target) ** 2).sum(-1) / scale[:, None] ** 2
    return weight * (torch.sqrt(1 + distance2) - 1)


def _direction_loss(points: Tensor, world: Tensor, weight: Tensor) -> Tensor:
    """1 - cos between the fitted and MediaPipe's 3D segment directions, both in camera axes."""
    a, b = zip(*_SEGMENTS, strict=True)
    fitted = F.normalize(points[:, list(b)] - points[:, list(a)], dim=-1)
    seen = F.normalize(world[:, list(b)] - world[:, list(a)], dim=-1)
    trust = torch.minimum(weight[:, list(a)], weight[:, list(b)])
    return (trust * (1 - (fitted * seen).sum(-1))).sum() / (len(_SEGMENTS) * points.shape[0])


def _hinge(joints: Tensor, bone: str) -> tuple[Tensor, float, float]:
    """A hinge's flexion axis (3,) and its range of rotation about it (radians) from the rest
    pose, given its three joints (3, 3) at rest. A positive rotation about the axis bends the
    limb: knees about +X (the shin goes back), elbows about the normal of the arm's plane (the
    rest pose's elbows are already bent about 40 degrees)."""
    upper, lower = joints[1] - joints[0], joints[2] - joints[1]
    if bone.startswith("lowerleg"):
        axis = torch.tensor([1.0, 0.0, 0.0])
    else:
        axis = F.normalize(torch.linalg.cross(upper, lower), dim=0)
    bent = math.atan2(float(torch.linalg.cross(upper, lower) @ axis), float(upper @ lower))
    low, high = _FLEXION
    return axis, low - bent, high - bent


def _initial_placement(
    pixels: Tensor, weight: Tensor, world: Tensor, K: Tensor
) -> tuple[Tensor, Tensor]:
    """Root rotation vector (3,) and translation (3,) from the torso of the world landmarks
    and the person's size in pixels, for the fixed camera at the origin."""
    left = (world[11] - world[12]) + (world[23] - world[24])
    up = (world[11] + world[12] - world[23] - world[24]) / 2
    if left.norm() < 1e-6 or up.norm() < 1e-6:  # no world landmarks: facing the camera
        left, up = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, -1.0, 0.0])
    left = F.normalize(left, dim=0)
    up = F.normalize(up - (up @ left) * left, dim=0)
    body_to_camera = torch.stack((left, torch.linalg.cross(up, left), up), dim=1)
    root = _rotmat_to_rotvec(_R0.T @ body_to_camera)
    a, b = zip(*_SEGMENTS, strict=True)
    trust = torch.minimum(weight[list(a)], weight[list(b)]) + 1e-3
    metres = ((world[list(a)] - world[list(b)])[:, :2].norm(dim=-1) * trust).sum()
    pixels_long = ((pixels[list(a)] - pixels[list(b)]).norm(dim=-1) * trust).sum()
    focal = float(K[0, 0])
    depth = focal * float(metres) / max(float(pixels_long), 1e-3)
    depth = depth if depth > 0.2 else 3.0
    hips = (pixels[23] + pixels[24]) / 2
    x, y = (hips - K[:2, 2]) * depth / focal
    local = torch.stack((x, y, torch.tensor(depth)))
    return root, _R0.T @ local


def _aligning_rotation(rest: Tensor, axis: Tensor, near: Tensor, far: Tensor) -> Tensor:
    """(3, 3) the rotation that turns the ``rest`` direction of a limb's upper segment to
    ``near`` and its hinge ``axis`` to the normal of (near, far), the plane the limb bends in
    (all (3,)); just the smallest rotation to ``near`` when the limb is nearly straight."""
    normal = torch.linalg.cross(near, far)
    if normal.norm() < 0.17 * near.norm() * far.norm():  # bent less than 10 degrees
        return _smallest_rotation(rest, near)
    source = _frame(rest, axis)
    target = _frame(near, normal)
    return target @ source.T


def _frame(direction: Tensor, towards: Tensor) -> Tensor:
    """(3, 3) orthonormal columns: ``direction``, ``towards`` made orthogonal to it, their
    cross product."""
    x = F.normalize(direction, dim=0)
    y = F.normalize(towards - (towards @ x) * x, dim=0)
    return torch.stack((x, y, torch.linalg.cross(x, y)), dim=1)


def _bend_about(axis: Tensor, rest: Tensor, target: Tensor) -> float:
    """The angle (radians) about ``axis`` that best turns ``rest`` towards ``target`` (3,)."""
    rest = rest - (rest @ axis) * axis
    target = target - (target @ axis) * axis
    return math.atan2(float(torch.linalg.cross(rest, target) @ axis), float(rest @ target))


def _smallest_rotation(a: Tensor, b: Tensor) -> Tensor:
    """(3, 3) the smallest rotation turning direction a (3,) to direction b (3,)."""
    a, b = F.normalize(a, dim=0), F.normalize(b, dim=0)
    axis = torch.linalg.cross(a, b)
    sine, cosine = axis.norm(), a @ b
    if sine < 1e-6:
        return torch.eye(3)  # (anti)parallel: leave it to the optimiser
    return axis_angle_to_rotmat(axis / sine * torch.atan2(sine, cosine))


def _heading(rotation: Tensor) -> Tensor:
    """The rotation about +Z that turns -Y towards where ``rotation`` turns it (3, 3)."""
    forward = rotation @ torch.tensor([0.0, -1.0, 0.0])
    angle = math.atan2(float(forward[0]), float(-forward[1]))
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rotmat_to_rotvec(rotation: Tensor) -> Tensor:
    """(3, 3) rotation -> (3,) rotation vector (axis * angle, angle in [0, pi])."""
    q = rotmat_to_quat(rotation)
    sin_half = q[1:].norm()
    angle = 2 * torch.atan2(sin_half, q[0])
    return q[1:] * (angle / sin_half) if sin_half > 1e-8 else 2 * q[1:]
