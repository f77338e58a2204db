"""Time a config's training DataLoader alone: milliseconds per batch for each way of
handing tensors from the workers to the training process.

    python tools/analysis_tools/bench_dataloader.py configs/baselines/resnet_student_digits_cls.py \
        [--batches 60] [--strategies file_descriptor file_system] [--no-workers]

Each measurement runs in a fresh child process (the sharing strategy is process-wide
and workers inherit it) and times ``--batches`` batches after the first (worker
start-up excluded). ``--no-workers`` adds a row with ``num_workers=0`` (loading in
the training process: no transport at all, but no overlap with the training step).
The values are the same whatever the strategy; only the cost of moving them differs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r'''
import json, sys, time
import torch.multiprocessing as torch_mp
config, strategy, batches, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch_mp.set_sharing_strategy(strategy)
from mmengine.config import Config
from mmengine.runner import Runner
from kd.utils import register_all_modules
register_all_modules()
cfg = Config.fromfile(config).train_dataloader
if workers == '0':
    cfg.num_workers, cfg.persistent_workers = 0, False
loader = iter(Runner.build_dataloader(cfg, seed=0))
next(loader)
start = time.perf_counter()
for _ in range(batches):
    next(loader)
print(json.dumps(dict(ms=1000 * (time.perf_counter() - start) / batches,
                      workers=cfg.num_workers)))
'''


def measure(config: str, strategy: str, batches: int, no_workers: bool = False) -> dict:
    """``{'ms': per batch, 'workers': num_workers}`` of one child-process measurement."""
    out = subprocess.run([sys.executable, '-c', CHILD, config, strategy, str(batches),
                          '0' if no_workers else 'cfg'],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f'measuring {config} with {strategy} failed:\n{out.stderr[-2000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--batches', type=int, default=60)
    parser.add_argument('--strategies', nargs='+', default=['file_descriptor', 'file_system'])
    parser.add_argument('--no-workers', action='store_true',
                        help='also measure num_workers=0 (loading in the training process)')
    args = parser.parse_args(argv)
    print('| loader | ms / batch |')
    print('|---|---|')
    for strategy in args.strategies:
        row = measure(args.config, strategy, args.batches)
        print(f'| {row["workers"]} workers, {strategy} | {row["ms"]:.1f} |', flush=True)
    if args.no_workers:
        row = measure(args.config, args.strategies[0], args.batches, no_workers=True)
        print(f'| no workers | {row["ms"]:.1f} |')


if __name__ == '__main__':
    main()
