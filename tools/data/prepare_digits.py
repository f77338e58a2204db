"""Generate the DigitsDet (COCO detection) and DigitsCls (classification) data sets.

Both are built from scikit-learn's bundled 8x8 digit scans; nothing is
downloaded. Existing data sets with the same generator version, seed and sizes
are kept unless ``--force`` is given.

Examples::

    python tools/data/prepare_digits.py                  # both, into <repo>/data
    python tools/data/prepare_digits.py --only det --seed 1 --force
    python tools/data/prepare_digits.py --data-root /tmp/d --num-train 100 --num-val 20
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from kd.datasets import digits_data

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Generate the DigitsDet / DigitsCls data sets from sklearn digits.')
    parser.add_argument('--data-root', default=os.path.join(REPO_ROOT, 'data'),
                        help='directory receiving digits_det/ and digits_cls/ '
                             '(default: data/ in the repository root)')
    parser.add_argument('--seed', type=int, default=0, help='generation seed (default: 0)')
    parser.add_argument('--only', choices=('det', 'cls'), default=None,
                        help='build only one of the two data sets')
    parser.add_argument('--force', action='store_true',
                        help='rebuild even if a matching data set exists')
    parser.add_argument('--num-train', type=int, default=None,
                        help='number of training samples (default: 3000 det / 6000 cls)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='number of validation samples (default: 500 det / 1000 cls)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the requested data sets and print what was written."""
    args = parse_args(argv)
    sizes = {}
    if args.num_train is not None:
        sizes['num_train'] = args.num_train
    if args.num_val is not None:
        sizes['num_val'] = args.num_val
    which = (args.only,) if args.only else ('det', 'cls')
    dirnames = dict(det=digits_data.DET_DIRNAME, cls=digits_data.CLS_DIRNAME)
    dirs = {kind: os.path.join(args.data_root, dirnames[kind]) for kind in which}
    kept = [kind for kind in which if not args.force
            and digits_data.is_digits_data_ready(dirs[kind], kind, args.seed, sizes)]
    start = time.perf_counter()
    digits_data.ensure_digits_data(args.data_root, which=which, seed=args.seed,
                                   force=args.force, det_kwargs=sizes, cls_kwargs=sizes)
    for kind in which:
        out_dir = dirs[kind]
        with open(os.path.join(out_dir, 'manifest.json'), encoding='utf-8') as f:
            manifest = json.load(f)
        counts = ', '.join(f'{k}={v}' for k, v in manifest['counts'].items())
        state = 'kept existing' if kind in kept else 'wrote'
        print(f'{manifest["name"]} ({state}): {os.path.abspath(out_dir)} '
              f'(seed={manifest["seed"]}, {counts})')
        if kind == 'det':
            for split in ('train', 'val'):
                print(f'  {os.path.join(out_dir, "annotations", split + ".json")} + '
                      f'{os.path.join(out_dir, split)}/*.png')
        else:
            for name in ('train.npz', 'val.npz', 'meta.json'):
                print(f'  {os.path.join(out_dir, name)}')
    print(f'done in {time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
