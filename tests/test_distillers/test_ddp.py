"""The distiller under DDP with 2 CPU processes (gloo): teacher outside DDP, ranks in sync."""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.dist_worker_exit import gloo_worker


def _train(rank, world, cfg_path, ckpt, out_dir):
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import OptimWrapper

    from kd.distillers import SingleTeacherDistiller
    from tests.test_distillers.toy_models import toy_batch, toy_cfg
    torch.manual_seed(0)  # same student init on both ranks
    model = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg_path, checkpoint=ckpt),
        distill=dict(fpn=dict(student='neck', teacher='neck',
                              loss=dict(type='FeatureMSELoss'),
                              connector=dict(type='ConvConnector'))),
        probe_shape=(3, 16, 16))
    ddp = MMDistributedDataParallel(module=model, broadcast_buffers=False)
    wrapped = {id(p) for p in ddp.parameters()}
    assert not wrapped & {id(p) for p in model.teacher.parameters()}
    optim = OptimWrapper(torch.optim.SGD(ddp.parameters(), lr=0.1))
    for step in range(3):
        inputs, samples = toy_batch(n=2, seed=10 * step + rank)  # different data per rank
        ddp.train_step(dict(inputs=inputs, data_samples=samples), optim)
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    torch.save(dict(same=bool(torch.equal(gathered[0], gathered[1]))),
               f'{out_dir}/rank{rank}.pt')
    return ddp   # kept alive until the process exits (see tests/dist_worker_exit.py)


def test_ddp_two_cpu_processes(tmp_path):
    from kd.registry import MODELS
    from tests.test_distillers import toy_models  # noqa: F401  (registers ToyClassifier)
    cfg = tmp_path / 'teacher.py'
    cfg.write_text("model = dict(type='kd.ToyClassifier', width=8, out=8)\n")
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': MODELS.build(dict(type='kd.ToyClassifier', width=8,
                                                out=8)).state_dict()}, ckpt)
    mp.spawn(gloo_worker, args=(2, str(tmp_path / 'rendezvous'), _train, str(cfg), str(ckpt),
                                str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        result = torch.load(tmp_path / f'rank{rank}.pt')
        assert result['same'], 'ranks diverged: gradients were not synchronised'
