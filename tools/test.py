"""Evaluate a checkpoint with MMEngine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                                           [--cfg-options k=v ...] [--launcher pytorch]

For a distillation recipe, the student alone is evaluated: the recipe's student
config replaces the distiller, so the teacher is not built and its checkpoint is
not needed. The checkpoint is loaded strictly (kd.utils.eval_checkpoint): a
distillation checkpoint given with the student's config is unwrapped (its
``student.*`` weights, one line says so); any other key or shape mismatch stops
with the keys and the fix, instead of evaluating a random model.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

from kd.apis.runner import build_runner, load_config
from kd.utils.eval_checkpoint import (
    CheckpointMismatchError,
    load_checkpoint_strictly,
    use_student_for_test,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the evaluation log')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, work_dir=args.work_dir,
                      launcher=args.launcher)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint "{args.checkpoint}" does not exist')
    note = use_student_for_test(cfg)
    # loaded strictly below, not by the Runner (which loads load_from with strict=False)
    cfg.load_from = None
    cfg.resume = False
    runner = build_runner(cfg)
    if note:
        runner.logger.info(note)
    try:
        load_checkpoint_strictly(runner.model, args.checkpoint, config=args.config,
                                 log=runner.logger.info)
    except CheckpointMismatchError as err:
        raise SystemExit(f'error: {err}') from err
    if args.out:
        from mmengine.evaluator import DumpResults
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit('--out must end with .pkl or .pickle')
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    print(metrics)


if __name__ == '__main__':
    main()
