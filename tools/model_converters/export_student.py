"""Write a plain student checkpoint from a kd distillation checkpoint.

    python tools/model_converters/export_student.py CKPT [--out PATH]

The result holds only the student's weights (no teacher, connectors, optimizer
or message hub) and the checkpoint's ``meta`` (``dataset_meta`` included), so
``mmdet.apis.init_detector(student_config, PATH)`` loads it with no missing or
unexpected keys.
"""
from __future__ import annotations

import argparse
import os.path as osp

from kd.utils.export import export_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='distillation checkpoint (.pth)')
    parser.add_argument('--out', help='output path (default: <name>_student.pth beside it)')
    args = parser.parse_args()
    out = args.out or osp.splitext(args.checkpoint)[0] + '_student.pth'
    exported = export_student(args.checkpoint, out)
    n = sum(v.numel() for v in exported['state_dict'].values())
    print(f'wrote {out}: {len(exported["state_dict"])} tensors, {n / 1e6:.3f} M values')


if __name__ == '__main__':
    main()
