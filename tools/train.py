"""Train a model or a distillation recipe with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--cfg-options k=v ...] [--launcher pytorch]

Distributed: ``tools/dist_train.sh CONFIG NGPUS`` (torchrun), multi-node with
``NNODES NODE_RANK MASTER_ADDR PORT``; ``tools/slurm_train.sh`` on Slurm.
Without CUDA the process group uses the gloo backend, so the same commands
train with several CPU processes.
"""
from __future__ import annotations

import argparse
import os

from kd.apis.runner import build_runner, load_config
from kd.utils.atomic import find_latest_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model or a kd recipe')
    parser.add_argument('config', help='config file (path, or mmdet::/kd:: path)')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in '
                        'the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch size')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, work_dir=args.work_dir,
                      launcher=args.launcher)
    if args.amp:
        opt = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if opt == 'AmpOptimWrapper':
            print('AMP is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise SystemExit('--auto-scale-lr needs `auto_scale_lr = dict(enable=False, '
                             'base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume is not None:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume
    choose_resume_checkpoint(cfg)
    from kd.utils.preflight import preflight  # pretrained URLs offline, resumed teacher
    preflight(cfg)
    runner = build_runner(cfg)
    runner.train()
    _close_process_group()


def choose_resume_checkpoint(cfg) -> None:
    """Resolve ``resume=True`` without a checkpoint path to a file in the work dir.

    MMEngine's Runner would read ``<work_dir>/last_checkpoint`` and trust it; a
    run killed while that pointer was written leaves it empty or naming a file
    that does not exist. ``find_latest_checkpoint`` falls back to the newest
    complete ``iter_N``/``epoch_N`` checkpoint, and the Runner gets that path
    (``load_from``), so nothing in MMEngine needs to change. With no checkpoint
    at all, training starts from the beginning, as MMEngine's own ``resume=True``.
    """
    if not cfg.get('resume') or cfg.get('load_from'):
        return
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest is None:
        cfg.resume = False   # nothing to resume: a fresh run
    else:
        cfg.load_from = latest


def _close_process_group() -> None:
    """Leave the process group together: a rank that exits while another still
    talks to it makes gloo abort the survivor (SIGABRT) at interpreter exit."""
    import time

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        # Let gloo's threads finish destroying the barrier's work before anything frees
        # the process group: torch 2.13's ~ProcessGroupGloo joins them with the GIL held
        # while such a thread may wait for the GIL (a hang; tests/dist_worker_exit.py).
        time.sleep(0.2)
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
