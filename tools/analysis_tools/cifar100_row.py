"""Reproduce one row of the CIFAR-100 distillation benchmark (RepDistiller / mdistiller).

    python tools/analysis_tools/cifar100_row.py configs/kd/kd_resnet32x4_resnet8x4_cifar100.py \
        --teacher-ckpt download_ckpts/cifar_teachers/resnet32x4_vanilla/ckpt_epoch_240.pth \
        --seeds 0 1 2 --out work_dirs/cifar100_rows/rows.md

The teacher is, in this order: ``--teacher-ckpt`` (a RepDistiller ``cifar_teachers``
checkpoint, converted with tools/model_converters/repdistiller_to_kd.py and loaded
strictly into the recipe's teacher config; or a kd checkpoint), the recipe's own
``teacher_ckpt`` when that file exists, or ``--train-teacher`` (the teacher config's
240 epochs first). Then the recipe trains once per seed on its official schedule
(240 epochs, SGD 0.05, /10 at 150, 180, 210); each run's best ``accuracy/top1`` (as
RepDistiller reports it) goes into the row, written to ``--out`` (a Markdown table; a
row of the same recipe is replaced). Finished runs under ``--work-dir`` are reused, so
an interrupted command continues. Data: ``data/cifar100/cifar-100-python/`` (nothing is
downloaded; docs/cifar100.md). ``--cfg-options`` go to every run, the teacher's too.
"""
from __future__ import annotations

import argparse

from kd.zoo.cifar import format_row, reproduce_row, write_row


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('recipe', help='a CIFAR-100 distillation recipe '
                                       '(configs/<method>/..._cifar100.py)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--teacher-ckpt', help='RepDistiller cifar_teachers or kd checkpoint')
    parser.add_argument('--arch', help='RepDistiller architecture of --teacher-ckpt '
                                       '(default: from its <arch>_vanilla folder name)')
    parser.add_argument('--train-teacher', action='store_true',
                        help='train the teacher config when no checkpoint is given or found')
    parser.add_argument('--work-dir', default='work_dirs/cifar100_rows')
    parser.add_argument('--out', default='work_dirs/cifar100_rows/rows.md')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    row = reproduce_row(args.recipe, args.seeds, args.work_dir, args.teacher_ckpt, args.arch,
                        args.train_teacher, args.cfg_options)
    write_row(args.out, row)
    print(format_row(row))
    return row


if __name__ == '__main__':
    main()
