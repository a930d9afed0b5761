"""Body fitting: the Anny body's shape, and each photo's pose, expression and camera.

``fit_body`` fits one body shape shared by every photo and, per photo, the bone rotations,
the ARKit expression and the camera, so that the posed body's landmarks (``landmark_map``)
project onto what MediaPipe saw. Adam on CPU, a few hundred steps, no randomness.

Parametrisation while fitting (:class:`~core.recon.body_init.BodyParams`): each photo's
camera is fixed at the world origin looking along +Y (Z up) with K from the photo size and
the assumed field of view (``core.recon.body_targets``); the root bone's rotation and
translation place the body in front of it (``core.recon.body_init`` says where they
start). At the end the root's heading (its rotation about the up axis) and its translation
move into the camera, so every fitted body stands at the origin facing about -Y (tilts stay
in the root) and the cameras stand around it.

Losses (``core.recon.body_losses``; docs/recon.md has the weights and why): robust 2D
reprojection of the 33 body landmarks (weighted by visibility), of the 21 points of each seen
hand and of 148 face-mesh points; the 3D directions of the torso and limbs against
MediaPipe's world landmarks (which settle what a single photo cannot: whether a limb points
towards or away from the camera); projected vertices inside the person mask; priors on pose
(towards the canonical pose, elbows and knees as hinges within their range), shape (towards
the average) and expression.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor

from ..body.model import BodyModel
from ..body.poses import Pose
from ..errors import LcaError
from ..progress import Progress, no_progress
from ..quaternion import axis_angle_to_rotmat, heading_rotation, rotmat_to_rotvec
from ..render.camera import camera_to_pixels, project_points
from ..render.types import Camera
from .body_init import BodyParams, initial_parameters
from .body_losses import HINGES, direction_loss, hinge, pose_prior, reprojection
from .body_targets import BODY_TRUST, FIT_CAMERA, BodyTargets, body_targets
from .fit_types import BodyFit, FittedView
from .landmark_map import AnnyLandmarks, anny_landmarks
from .perception import Perception

#: The expressions fitted against the face mesh; the other ARKit values stay 0.
FITTED_EXPRESSIONS = (
    "jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthPucker",
    "mouthFunnel", "browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft",
    "browOuterUpRight",
)  # fmt: skip

#: The bones fitted in a face close-up (with the root and its translation); the rest of the
#: body stays at the canonical pose there.
CLOSE_UP_BONES = ("neck01", "neck02", "neck03", "head")

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


def fit_body(
    body: BodyModel,
    perceptions: list[Perception],
    *,
    steps: int = 300,
    fov_y_deg: float | None = None,
    shape: Tensor | None = None,
    start: FittedView | None = None,
    progress: Progress = no_progress,
) -> BodyFit:
    """Fit ``body`` (Anny) to one or more photos of one person.

    Args:
        body: the body model (Anny's default mesh; its landmarks are in landmark_map).
        perceptions: one per photo, from ``perceive``; all show the same person.
        steps: Adam steps (the first 30% fit the camera and body pose only).
        fov_y_deg: the photos' vertical field of view; None assumes a 40 mm-equivalent lens
            (``core.recon.body_targets.DEFAULT_FOCAL_35MM``).
        shape: (S,) a known body shape to keep (e.g. from other photos of the person): only
            the poses, expressions and cameras are fitted; None fits the shape too. Face
            close-ups beside full-body photos are fitted after them, with the shape those
            give (``_fit_close_ups_after``).
        start: a warm start for a single photo: the pose, expression and camera fitted to
            a neighbouring video frame (``fit.views[0]`` of its fit, at the same photo size);
            the pose-only first phase is then skipped, so a few steps suffice. None starts
            from the landmarks (core.recon.body_init).
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
    if start is not None and len(perceptions) != 1:
        raise ValueError("A warm start is for one photo at a time.")
    close = [p.close_up for p in perceptions]
    if shape is None and any(close) and not all(close):
        return _fit_close_ups_after(body, perceptions, steps, fov_y_deg, progress)
    marks = anny_landmarks(body.bone_names, int(body.skinning_weights.shape[0]))
    dtype = torch.float32
    targets = body_targets(perceptions, marks, fov_y_deg, dtype)
    problem = _Problem(body, marks, targets)
    params = problem.initial_parameters()
    fitted = tuple(f.name for f in dataclasses.fields(params))
    if shape is not None:
        with torch.no_grad():
            params.shape.copy_(shape.detach().to(params.shape).reshape(params.shape.shape))
        fitted = tuple(n for n in fitted if n != "shape")
    if start is not None:
        with torch.no_grad():
            problem.warm_start(params, start)
    warmup = 0 if start is not None else max(1, round(0.3 * steps))
    for phase, (count, names) in enumerate(
        ((warmup, ("root", "translation", "bones")), (steps - warmup, fitted))
    ):
        optimiser = torch.optim.Adam(
            [{"params": [getattr(params, n)], "lr": _LEARNING_RATES[n]} for n in names]
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
                params.shape.clamp_(0.0, 1.0)
                params.expression.clamp_(0.0, 1.0)
            done = (warmup if phase else 0) + step + 1
            if done % 10 == 0 or done == steps:
                progress("fitting body", done / steps)
    with torch.no_grad():
        final = float(problem.loss(params, full=True))
    return problem.result(params, final, perceptions)


def _fit_close_ups_after(
    body: BodyModel,
    perceptions: list[Perception],
    steps: int,
    fov_y_deg: float | None,
    progress: Progress,
) -> BodyFit:
    """The full-body photos fitted first (shape, poses, cameras), then the face close-ups
    with that shape kept; the views in the perceptions' order.

    Fitted together, a close-up bends the shared shape and the full-body photos' head and
    expression towards the face points of a head that is not the person's (the body model's
    face shape is its phenotype's): on the sample person (seed 11) the head's pixels in a
    face close-up lost 2.9 dB against the front photo alone; fitted after, 0.3 dB."""
    full = [p for p in perceptions if not p.close_up]
    close = [p for p in perceptions if p.close_up]
    share = len(full) / len(perceptions)

    def part(start: float, width: float) -> Progress:
        return lambda stage, fraction: progress(stage, start + width * fraction)

    first = fit_body(body, full, steps=steps, fov_y_deg=fov_y_deg, progress=part(0, share))
    second = fit_body(
        body,
        close,
        steps=steps,
        fov_y_deg=fov_y_deg,
        shape=first.shape,
        progress=part(share, 1 - share),
    )
    views = iter(first.views), iter(second.views)
    ordered = tuple(next(views[p.close_up]) for p in perceptions)
    return BodyFit(shape=first.shape, views=ordered, loss=first.loss + second.loss)


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


# -- the problem -------------------------------------------------------------------------


class _Problem:
    """The fitting objective over the parameters of every view."""

    def __init__(self, body: BodyModel, marks: AnnyLandmarks, targets: BodyTargets) -> None:
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
        head = torch.zeros(len(names))
        head[[names.index(n) for n in CLOSE_UP_BONES]] = 1.0
        close = targets.close_up[:, None, None]
        self.free = self.free * (1 - close) + self.free * head[None, :, None] * close
        self.expression_index = torch.tensor(
            [body.expression_names.index(name) for name in FITTED_EXPRESSIONS]
        )
        with torch.no_grad():
            rest = body.forward()
            rest_points = marks.body.points(rest.vertices, rest.bone_transforms[..., :3, 3])[0]
        self.hinges = [
            (names.index(bone), *hinge(rest_points[list(joints)], bone)) for bone, joints in HINGES
        ]
        self.rest_heads = rest.bone_transforms[0, :, :3, 3]
        # fingers join in the second phase
        self.finger = torch.tensor([n.startswith("finger") for n in names]).float()[:, None]
        self.surface = torch.arange(0, body.skinning_weights.shape[0], 4)

    def initial_parameters(self) -> BodyParams:
        """The starting parameters (core.recon.body_init); face close-ups start facing the
        camera with the face where the photo shows it, at the distance its size says."""
        params = initial_parameters(
            self.body,
            self.t,
            self.free,
            self.rest_heads,
            self.hinges,
            len(FITTED_EXPRESSIONS),
        )
        close = [v for v in range(self.views) if float(self.t.close_up[v]) > 0]
        if close:
            with torch.no_grad():
                self._place_close_ups(params, close)
        return params

    def _place_close_ups(self, params: BodyParams, close: list[int]) -> None:
        """Move the root of each close-up view so that the rest face lands on the photo's."""
        out = self.body.forward(
            params.shape.expand(len(close), -1),
            self.pose(params, full=False)[close],
            None,
            torch.zeros(len(close), 3),
        )
        heads = out.bone_transforms[..., :3, 3]
        face = _to_camera(self.marks.face.points(out.vertices, heads))  # (C, F, 3)
        for i, v in enumerate(close):
            centre = face[i].mean(0)
            metres = (face[i, :, :2] - centre[:2]).square().sum(-1).mean().sqrt()
            pixels = self.t.face[v]
            spread = (pixels - pixels.mean(0)).square().sum(-1).mean().sqrt()
            K = self.t.K[v]
            depth = float(K[0, 0]) * float(metres) / max(float(spread), 1.0)
            x, y = (pixels.mean(0) - K[:2, 2]) * depth / K[0, 0]
            target = torch.stack((x, y, torch.tensor(depth)))
            params.translation[v] = FIT_CAMERA.T @ (target - centre)

    def warm_start(self, params: BodyParams, start: FittedView) -> None:
        """Set the parameters of the one view to ``start`` (the inverse of :meth:`result`:
        the camera's heading and translation go back into the root)."""
        world_to_camera = start.camera.world_to_camera.to(params.root)
        heading = FIT_CAMERA.T @ world_to_camera[:3, :3]
        rotations = start.pose.rotations.to(params.root)
        params.root[0] = rotmat_to_rotvec(heading @ axis_angle_to_rotmat(rotations[0]))
        params.translation[0] = FIT_CAMERA.T @ world_to_camera[:3, 3]
        params.bones[0, 1:] = rotations[1:]
        expression = start.pose.expression.to(params.expression)
        params.expression[0] = expression[self.expression_index]

    def mask_gradients(self, params: BodyParams) -> None:
        """Zero the gradients of the bones not fitted in each view."""
        if params.bones.grad is not None:
            params.bones.grad *= self.free

    def pose(self, params: BodyParams, full: bool) -> Tensor:
        """(B, J, 3): the fitted bones, fingers only in the full phase, the root first."""
        keep = self.free if full else self.free * (1 - self.finger)
        bones = params.bones * keep
        return torch.cat((params.root[:, None], bones[:, 1:]), dim=1)

    def expression(self, params: BodyParams) -> Tensor:
        """(B, E): the fitted expressions; neutral in views without a face mesh."""
        fitted = params.expression * self.t.face_weight[:, None]
        values = torch.zeros(self.views, len(self.body.expression_names))
        return values.index_copy(1, self.expression_index, fitted)

    def loss(self, params: BodyParams, full: bool) -> Tensor:
        """The objective; ``full`` adds hands, face, silhouette, shape and expression."""
        t, B = self.t, self.views
        pose = self.pose(params, full)
        out = self.body.forward(
            params.shape.expand(B, -1),
            pose,
            self.expression(params) if full else None,
            params.translation,
        )
        heads = out.bone_transforms[..., :3, 3]
        body_points = _to_camera(self.marks.body.points(out.vertices, heads))  # (B, 33, 3)
        scale = SIGMA_BODY * t.body_scale
        body = reprojection(self._pixels(body_points), t.body, t.body_weight, scale)
        total = W_BODY * body.sum() / (B * sum(BODY_TRUST))
        total = total + W_DIRECTION * direction_loss(body_points, t.world, t.body_weight)
        total = total + self._prior(pose)
        if not full:
            if bool(t.close_up.any()):  # close-ups have only their face to go by
                total = total + W_FACE * self._face(out, heads, t.face_weight * t.close_up)
            return total
        for side, marks in enumerate((self.marks.left_hand, self.marks.right_hand)):
            pixels = self._pixels(_to_camera(marks.points(out.vertices, heads)))
            weight = t.hand_weight[:, side, None].expand(-1, pixels.shape[1])
            scale = SIGMA_HAND * t.hand_scale[:, side]
            hand = reprojection(pixels, t.hands[:, side], weight, scale)
            total = total + W_HAND * hand.mean()
        total = total + W_FACE * self._face(out, heads, t.face_weight)
        surface = self._pixels(_to_camera(out.vertices[:, self.surface]))
        total = total + W_SILHOUETTE * self._outside(surface, 1 - t.close_up)
        total = total + W_SHAPE * ((params.shape - 0.5) ** 2).sum()
        return total + W_EXPRESSION * (params.expression**2).sum() / B

    def _face(self, out, heads: Tensor, weight: Tensor) -> Tensor:
        """Mean robust reprojection of the face points, weighted per view by ``weight`` (B,)."""
        t = self.t
        pixels = self._pixels(_to_camera(self.marks.face.points(out.vertices, heads)))
        weights = weight[:, None].expand(-1, pixels.shape[1])
        return reprojection(pixels, t.face, weights, SIGMA_FACE * t.face_scale).mean()

    def _pixels(self, local: Tensor) -> Tensor:
        """Camera-space points (B, P, 3) -> pixels (B, P, 2)."""
        return camera_to_pixels(self.t.K, local, min_depth=0.05)

    def _outside(self, pixels: Tensor, weight: Tensor) -> Tensor:
        """Mean of (1 - soft mask) at the projected vertices (B, P, 2), views weighted by
        ``weight`` (B,)."""
        size = torch.tensor(self.t.sizes, dtype=pixels.dtype)[:, None, :]
        grid = (2 * pixels / size - 1)[:, :, None, :]  # (B, P, 1, 2) in [-1, 1]
        inside = F.grid_sample(self.t.mask, grid, align_corners=False, padding_mode="zeros")
        return ((1 - inside).mean(dim=(1, 2, 3)) * weight).mean()

    def _prior(self, pose: Tensor) -> Tensor:
        """Pull towards the canonical pose, hinges within their range (core.recon.body_losses)."""
        return pose_prior(pose, self.prior, self.hinges, self.views, W_LIMIT, W_HINGE)

    def result(self, params: BodyParams, loss: float, perceptions: list[Perception]) -> BodyFit:
        pose = self.pose(params, full=True).detach()
        expression = self.expression(params).detach()
        views = []
        for v in range(self.views):
            root = axis_angle_to_rotmat(pose[v, 0])
            heading = heading_rotation(root)
            tilt = heading.T @ root
            rotations = pose[v].clone()
            rotations[0] = rotmat_to_rotvec(tilt)
            world_to_camera = torch.eye(4)
            world_to_camera[:3, :3] = FIT_CAMERA @ heading
            world_to_camera[:3, 3] = FIT_CAMERA @ params.translation[v].detach()
            width, height = self.t.sizes[v]
            camera = Camera(self.t.K[v], world_to_camera, width, height)
            views.append(
                FittedView(
                    perception=perceptions[v],
                    pose=Pose(rotations, expression[v], torch.zeros(3)),
                    camera=camera,
                )
            )
        return BodyFit(shape=params.shape.detach()[0].clone(), views=tuple(views), loss=loss)


def _to_camera(points: Tensor) -> Tensor:
    """World points (..., 3) -> camera axes of the fixed fitting camera at the origin."""
    return points @ FIT_CAMERA.T
