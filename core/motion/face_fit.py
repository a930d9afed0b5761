"""ARKit weights and head rotation from face-mesh points, fitted to a body model's
blendshapes; and the One Euro filter that smooths them over time.

The body model's face points (``core.recon.landmark_map``: 148 MediaPipe FaceMesh points,
each a weighted sum of Anny vertices) at the neutral expression and the change of each
point per unit of each expression (Anny's blendshapes are linear) are computed once
(:func:`face_basis`). Per frame (:func:`fit_faces`, all frames at once), the detected points
are aligned to the model's steadiest points by a similarity (Umeyama), the aligned residual
is explained by the blendshapes with weights in [0, 1] (bounded least squares with a ridge,
``RIDGE`` and ``RIDGE_OTHERS``, by accelerated projected gradient), and the alignment is
redone against the expressed face, a few times. The rotation of the alignment gives the
head's yaw, pitch and roll (:func:`head_angles`).

Not fitted (left at 0): the eight eyeLook* shapes and tongueOut, which move the mesh points
by a millimetre or less (tongueOut not at all).

Letters: T frames, F face points, K fitted expressions, E all expressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..body.model import BodyModel
from ..recon.body_fit import FITTED_EXPRESSIONS
from ..recon.landmark_map import anny_landmarks

NOT_FITTED = (
    "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "tongueOut",
)  # fmt: skip
RIDGE = 0.02
"""Pull of each weight towards 0, relative to its blendshape's own squared movement: for
the 16 expressions body fitting uses (``core.recon.body_fit.FITTED_EXPRESSIONS``: jaw, blinks,
wide eyes, smiles, frowns, pucker, funnel, brows)."""
RIDGE_OTHERS = 0.3
"""The same for the other fitted expressions, which the face mesh tells apart less well
(jawOpen against mouthLowerDown, say): a stronger pull keeps them from taking over."""
DEPTH_WEIGHT = 0.5
"""Weight of MediaPipe's depth (z) against the image directions in the fit (z is the least
certain coordinate)."""
ALIGNMENTS = 3
"""Rounds of align-then-solve."""
STEADY = 0.4
"""Share of the face points (those expressions move least: nose, eye corners, temples) on
which each frame is aligned."""
STEPS = 150
"""Projected-gradient steps per round."""
FACING = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""Anny's canonical frame (Z up, facing -Y, +X the person's left) -> the image frame of a
face looking at the camera (x right, y down, z away from the camera)."""


@dataclass(frozen=True)
class FaceBasis:
    """The face points of a body model and how each expression moves them.

    names: the model's E expression names; fitted: the K names fitted (all but NOT_FITTED);
    fitted_index: (K,) their indices in ``names``; mesh_index: (F,) FaceMesh point numbers;
    neutral: (F, 3) float64 metres at the neutral expression; deltas: (K, F, 3) float64
    metres per unit weight; steady: (F,) bool, the points expressions move least (the
    ``STEADY`` share), on which faces are aligned.
    """

    names: tuple[str, ...]
    fitted: tuple[str, ...]
    fitted_index: np.ndarray
    mesh_index: np.ndarray
    neutral: np.ndarray
    deltas: np.ndarray
    steady: np.ndarray


def face_basis(body: BodyModel) -> FaceBasis:
    """The :class:`FaceBasis` of ``body`` at its default shape (Anny only: LcaError else)."""
    marks = anny_landmarks(body.bone_names, body.skinning_weights.shape[0])
    fitted = tuple(n for n in body.expression_names if n not in NOT_FITTED)
    index = [body.expression_names.index(n) for n in fitted]
    E = len(body.expression_names)
    expressions = torch.cat((torch.zeros(1, E), torch.eye(E)[index]))
    with torch.no_grad():
        out = body.forward(expression=expressions)
        heads = out.bone_transforms[:, :, :3, 3]
        points = marks.face.points(out.vertices.double(), heads.double()).cpu().numpy()
    return FaceBasis(
        names=tuple(body.expression_names),
        fitted=fitted,
        fitted_index=np.array(index, dtype=np.int64),
        mesh_index=marks.face_index.numpy(),
        neutral=points[0],
        deltas=points[1:] - points[0],
        steady=_steady(points[1:] - points[0]),
    )


def _steady(deltas: np.ndarray) -> np.ndarray:
    """(F,) bool: the STEADY share of points with the least movement over all expressions."""
    movement = np.linalg.norm(deltas, axis=2).sum(axis=0)
    return movement <= np.quantile(movement, STEADY)


def similarity(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Umeyama's least-squares similarity ``target ~ s R source + t`` per frame.

    source, target: (T, F, 3) -> (sR (T, 3, 3) with det R = +1, t (T, 3))."""
    mu_s, mu_t = source.mean(axis=1), target.mean(axis=1)
    a, b = source - mu_s[:, None], target - mu_t[:, None]
    # tij <- tfi, tfj: the cross-covariance of each frame
    cov = np.einsum("tfi,tfj->tij", b, a) / source.shape[1]
    u, sigma, vt = np.linalg.svd(cov)
    d = np.ones_like(sigma)
    d[:, 2] = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    rotation = u @ (d[:, :, None] * vt)
    variance = (a**2).sum(axis=(1, 2)) / source.shape[1]
    scale = (sigma * d).sum(axis=1) / variance
    sr = scale[:, None, None] * rotation
    # ti <- tij, tj: the translation that matches the centroids
    return sr, mu_t - np.einsum("tij,tj->ti", sr, mu_s)


def fit_faces(points: np.ndarray, basis: FaceBasis) -> tuple[np.ndarray, np.ndarray]:
    """Fit every frame's face-mesh points (image frame: x right, y down, z away; any unit).

    points: (T, F, 3) in ``basis.mesh_index`` order -> (weights (T, K) in [0, 1] for
    ``basis.fitted``, rotation (T, 3, 3) model frame -> image frame)."""
    T, K = points.shape[0], len(basis.fitted)
    deltas = basis.deltas.reshape(K, -1)  # (K, 3F)
    depth = np.tile([1.0, 1.0, DEPTH_WEIGHT], basis.neutral.shape[0])
    gram = (deltas * depth) @ deltas.T
    ridge = [RIDGE if name in FITTED_EXPRESSIONS else RIDGE_OTHERS for name in basis.fitted]
    gram += np.diag(np.array(ridge) * np.diag(gram))
    step = 1.0 / np.linalg.eigvalsh(gram)[-1]
    weights = np.zeros((T, K))
    model = np.broadcast_to(basis.neutral, points.shape)
    for _ in range(ALIGNMENTS):
        sr, t = similarity(model[:, basis.steady], points[:, basis.steady])
        # tfi <- tji, tfj: back into the model frame (sR^-1 = R^T / s)
        inverse = np.linalg.inv(sr)
        aligned = np.einsum("tij,tfj->tfi", inverse, points - t[:, None])
        residual = (aligned - basis.neutral).reshape(T, -1)
        weights = _bounded_least_squares(gram, (residual * depth) @ deltas.T, step, weights)
        model = basis.neutral + (weights @ deltas).reshape(T, -1, 3)
    rotation = sr / np.cbrt(np.linalg.det(sr))[:, None, None]
    return weights, rotation


def _bounded_least_squares(
    gram: np.ndarray, rhs: np.ndarray, step: float, start: np.ndarray
) -> np.ndarray:
    """argmin over w in [0, 1]^K of w^T G w / 2 - rhs . w per row (FISTA from ``start``).

    gram: (K, K); rhs, start: (T, K)."""
    w = y = start
    momentum = 1.0
    for _ in range(STEPS):
        w_next = np.clip(y - step * (y @ gram - rhs), 0.0, 1.0)
        m_next = (1 + math.sqrt(1 + 4 * momentum**2)) / 2
        y = w_next + ((momentum - 1) / m_next) * (w_next - w)
        w, momentum = w_next, m_next
    return w


def head_angles(rotation: np.ndarray) -> np.ndarray:
    """(T, 3, 3) model -> image rotations to (T, 3) radians: yaw, pitch, roll of the head
    relative to facing the camera, ``R = FACING Rz(yaw) Rx(pitch) Ry(roll)`` in the model's
    frame: yaw > 0 turns the face to the person's left, pitch > 0 nods it down, roll > 0
    tilts the top of the head to the person's left."""
    m = FACING.T @ rotation
    yaw = np.arctan2(-m[:, 0, 1], m[:, 1, 1])
    pitch = np.arcsin(np.clip(m[:, 2, 1], -1.0, 1.0))
    roll = np.arctan2(-m[:, 2, 0], m[:, 2, 2])
    return np.stack((yaw, pitch, roll), axis=1)


def one_euro(
    values: np.ndarray, fps: float, min_cutoff: float = 2.0, beta: float = 0.5
) -> np.ndarray:
    """The One Euro filter (Casiez et al. 2012) along time: a low-pass whose cutoff rises
    with speed, so still curves lose their jitter and fast ones keep their timing.

    values: (T, K) sampled at ``fps``; min_cutoff: Hz at rest; beta: Hz added per unit/s of
    speed; the speed itself is low-passed at 1 Hz. Returns (T, K)."""
    out = np.empty_like(values)
    if len(values) == 0:
        return out
    dt = 1.0 / fps

    def alpha(cutoff: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))

    out[0] = previous = values[0]
    speed = np.zeros_like(values[0])
    for t in range(1, len(values)):
        speed = speed + alpha(1.0) * ((values[t] - previous) / dt - speed)
        a = alpha(min_cutoff + beta * np.abs(speed))
        previous = out[t] = previous + a * (values[t] - previous)
    return out
