"""`lca bench infer`: seconds per avatar of the network's feedforward prediction.

The photo is the sample person's front view (core.recon.sample_person), its crop and posed
body taken from the true pose and camera: body fitting is excluded, as the issue asks. Timed,
as ``lca create``'s network stage runs them: seeding the template at the person's shape
(core.deform.template), today's initial colours that the network corrects
(core.recon.feedforward.base_colours) and the forward pass
(core.model.network.predict_avatar); for scale, one render of the predicted avatar at
512x512 on the same device.
"""

from __future__ import annotations

import time

import torch

from ..bench import median_seconds
from ..model.config import model_config
from ..model.inputs import ModelView
from ..model.network import new_network, predict_avatar

INFER_TARGET_S = {"tiny": 3.0, "small": 1.0}
"""Goals of issue 12: tiny on this 2-core CPU, small on an H100."""


def bench_infer(size: str, repeats: int, device: torch.device) -> None:
    """Print the median seconds of seeding and predicting one avatar of model ``size``."""
    from ..body.anny_body import AnnyBody
    from ..body.poses import rest_pose
    from ..deform.template import make_starter_avatar
    from ..posing import avatar_scene, posed_vertices
    from ..recon.sample_person import sample_avatar, sample_camera, sample_shape
    from ..render import render
    from ..render.named_views import camera_for

    config = model_config(size)
    body = AnnyBody(device=device)
    net = new_network(config, body).to(device).eval()
    person = sample_avatar(body, count=60_000)
    camera = sample_camera(0.0, 512, 768)
    vertices = posed_vertices(person, body, [rest_pose(body)])[0]
    with torch.no_grad():
        shot = render(avatar_scene(person, vertices), camera, backend="torch")
    view = ModelView(shot.rgb.float(), shot.alpha.float(), camera, vertices.float())
    shape = sample_shape(body)

    def seed():
        return make_starter_avatar(body, count=config.gaussians, shape=shape)

    template = seed()

    from ..recon.feedforward import base_colours

    base = base_colours(template, [view])

    def predict():
        avatar = predict_avatar(net, template, [view], base)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return avatar

    seed_s, _ = median_seconds(seed, repeats)
    base_s, _ = median_seconds(lambda: base_colours(template, [view]), repeats)
    start = time.perf_counter()
    avatar = predict()
    first = time.perf_counter() - start
    predict_s, best = median_seconds(predict, repeats)
    scene = avatar_scene(avatar)
    front = camera_for("front", scene.means, avatar.binding.part, avatar.part_names, 512, 512)
    with torch.no_grad():
        render_s, _ = median_seconds(lambda: render(scene, front, backend="torch"), repeats)
    total = seed_s + base_s + predict_s
    goal = INFER_TARGET_S.get(size)
    against = f"; goal {goal:.0f} s -> {total / goal:.2f}x of budget" if goal else ""
    params = sum(p.numel() for p in net.parameters())
    print(
        f"infer {size} ({params / 1e6:.2f} M parameters, {config.gaussians:,} Gaussians, "
        f"{config.image}px crops, 1 photo, {device.type}): seed template {seed_s:.3f} s + "
        f"initial colours {base_s:.3f} s + forward {predict_s:.3f} s (min {best:.3f}, first "
        f"call {first:.3f}) = {total:.3f} s"
        f" per avatar{against}; one 512x512 torch render of it {render_s:.3f} s -> "
        f"{total / render_s:.1f} renders"
    )


def bench_train(data: str, repeats: int) -> None:
    """Print training samples per second in one process and in two gloo ranks (the same
    global batch of 2 subjects split between them), and their ratio; ``data``: shards."""
    import tempfile

    import torch.multiprocessing as mp

    from ..body.anny_body import AnnyBody
    from .config import DataConfig, OptimConfig, TrainConfig

    config = TrainConfig(
        model="tiny",
        data=DataConfig(train=data, target_views=2, template_gaussians=4000),
        optim=OptimConfig(steps=repeats + 1, batch=2, warmup=1),
    )
    one = _steps_per_second(config, AnnyBody())
    with tempfile.TemporaryDirectory() as folder:
        rates = mp.get_context("spawn").SimpleQueue()
        init = f"file://{folder}/rendezvous"
        mp.spawn(_rank, args=(2, init, config, rates), nprocs=2, join=True)
        two = rates.get()
    batch = config.optim.batch
    print(
        f"train tiny, batch {batch}, 2 target views at the shards' size: 1 process "
        f"{one * batch:.2f} samples/s; 2 gloo ranks {two * batch:.2f} samples/s -> "
        f"{two / one:.2f}x ({torch.get_num_threads()} torch threads alone, half each in the "
        "ranks)"
    )


def _steps_per_second(config, body) -> float:
    from .data.shards import list_shards
    from .dataset import load_subject
    from .loop import make_network, train_step

    subjects = [load_subject(body, p, config.data, 0) for p in list_shards(config.data.train)[:4]]
    net = make_network(config, body, None)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-4)
    cpu = torch.device("cpu")
    train_step(net, optimiser, subjects, config, 0, cpu)  # warm-up
    start = time.perf_counter()
    for step in range(1, config.optim.steps):
        train_step(net, optimiser, subjects, config, step, cpu)
    return (config.optim.steps - 1) / (time.perf_counter() - start)


def _rank(rank: int, world: int, init: str, config, rates) -> None:
    import torch.distributed as dist

    from ..body.anny_body import AnnyBody

    torch.set_num_threads(max(1, torch.get_num_threads() // world))
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        rate = _steps_per_second(config, AnnyBody())
        if rank == 0:
            rates.put(rate)
    finally:
        dist.destroy_process_group()
