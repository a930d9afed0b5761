"""Two gloo ranks give the gradients one process gets on the union of their batches."""

import torch
import torch.multiprocessing as mp

from core.train.data.shards import list_shards
from core.train.dataset import load_subject
from core.train.loop import accumulate_gradients
from tests.core.model.micro import micro_anchors, micro_net
from tests.core.train.conftest import small_config


def _gradients(net) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


def _rank(rank: int, world: int, init: str, shard_dir: str, out: str) -> None:
    import torch.distributed as dist
    from safetensors.torch import save_file

    from core.body.anny_body import AnnyBody
    from core.train import distributed

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        body = AnnyBody()
        config = small_config(shard_dir)
        subjects = [load_subject(body, p, config.data, 3) for p in list_shards(shard_dir)]
        net = micro_net(body, micro_anchors(body))
        accumulate_gradients(net, subjects, config, 0, torch.device("cpu"))
        distributed.average_gradients(net)
        if rank == 0:
            save_file(_gradients(net), out)
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_match_one_rank_on_the_union_batch(anny_body, shard_dir, tmp_path):
    from safetensors.torch import load_file

    config = small_config(shard_dir)  # batch 2: one subject per rank
    subjects = [load_subject(anny_body, p, config.data, 3) for p in list_shards(shard_dir)]
    net = micro_net(anny_body, micro_anchors(anny_body))
    accumulate_gradients(net, subjects, config, 0, torch.device("cpu"))
    single = _gradients(net)

    out = str(tmp_path / "grads.safetensors")
    init = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_rank, args=(2, init, str(shard_dir), out), nprocs=2, join=True)
    both = load_file(out)
    assert single.keys() <= both.keys()
    for name, grad in both.items():  # the ranks fill unused gradients (the pose correction) with 0
        expected = single.get(name, torch.zeros_like(grad))
        torch.testing.assert_close(grad, expected, atol=1e-6, rtol=0, msg=name)
