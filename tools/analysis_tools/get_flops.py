"""Parameters and FLOPs of a model config, or of the student and teacher of a recipe.

    python tools/analysis_tools/get_flops.py CONFIG [--shape 3 96 96]

FLOPs are counted by ``mmengine.analysis`` (one multiply-add = one FLOP) on a
single zero image of the given shape; operators it does not count (BatchNorm,
pooling, interpolation) are left out, as in MMDetection's tool.
"""
from __future__ import annotations

import argparse

from kd.utils.complexity import params_and_flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=3, default=[3, 96, 96],
                        metavar=('C', 'H', 'W'))
    args = parser.parse_args()

    from mmengine.registry import DefaultScope

    from kd.apis import load_config
    from kd.registry import MODELS
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    # weights do not change the counts: never need the teachers' checkpoints
    teacher_cfgs = [cfg.model.get('teacher')] + list((cfg.model.get('teachers') or {}).values())
    for t in teacher_cfgs:
        if isinstance(t, dict):
            t['checkpoint'] = None
            t['allow_random_init'] = True
    scope = cfg.get('default_scope', 'kd')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    parts = {'model': model}
    if hasattr(model, 'student'):
        parts = {'student': model.student}
        teachers = getattr(model, 'teachers', None) or {'teacher': model.teacher}
        parts.update(teachers)
    shape = 'x'.join(map(str, args.shape))
    print(f'{"part":<10} {"params (M)":>11} {"GFLOPs":>9}   input 1x{shape}')
    for name, part in parts.items():
        params, flops = params_and_flops(part, args.shape)
        print(f'{name:<10} {params / 1e6:>11.3f} {flops / 1e9:>9.3f}')


if __name__ == '__main__':
    main()
