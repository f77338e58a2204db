"""examples/custom_loop.py (one process) and examples/custom_loop_ddp.py (torchrun, 2 CPUs)."""
import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXAMPLES = osp.join(ROOT, 'examples')
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def test_custom_loop_runs(tmp_path):
    out = tmp_path / 'result.json'
    res = subprocess.run([sys.executable, osp.join(EXAMPLES, 'custom_loop.py'), '--steps', '30',
                          '--out', str(out)], cwd=tmp_path, env=ENV, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'distilled student' in res.stdout
    result = json.loads(out.read_text())
    assert result['teacher_unchanged'] is True
    assert sorted(result['last_losses']) == ['distill.hint', 'distill.logits']
    assert all(0 <= v < 1e3 for v in result['last_losses'].values())
    # the 1x1 ConvConnector from the student's 8 channels to the teacher's 32, with bias
    assert result['distiller_parameters'] == 8 * 32 + 32
    assert 0.0 <= result['student_distilled'] <= 1.0


def test_custom_loop_losses_are_the_formulas():
    example = runpy.run_path(osp.join(EXAMPLES, 'custom_loop.py'))   # not as __main__
    x, y = example['digits']('train')
    assert x.shape[1:] == (1, 8, 8) and len(x) == len(y) and set(y.tolist()) == set(range(10))
    torch.manual_seed(0)
    teacher, student = example['make_net'](16), example['make_net'](4)
    distiller = example['Distiller'](student, teacher, example['DISTILL'], example_inputs=x[:2])
    with distiller.record():
        logits = student(x[:16])
    losses = distiller.losses()
    with torch.no_grad():
        t_logits = teacher(x[:16])
        t_feat = teacher[:5](x[:16])
    s_feat = student[:5](x[:16])
    tau = 2.0
    kd = F.kl_div(F.log_softmax(logits / tau, 1), F.softmax(t_logits / tau, 1),
                  reduction='batchmean') * tau ** 2
    assert torch.allclose(losses['distill.logits'], 0.5 * kd, rtol=1e-5)
    connector, = [m for m in distiller.modules() if type(m).__name__ == 'ConvConnector']
    hint = F.mse_loss(connector(s_feat), t_feat)
    assert torch.allclose(losses['distill.hint'], 0.05 * hint, rtol=1e-5)
    distiller.remove()


def test_custom_loop_ddp_with_two_cpu_processes(tmp_path):
    out = tmp_path / 'result.json'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node',
           '2', osp.join(EXAMPLES, 'custom_loop_ddp.py'), '--steps', '20', '--out', str(out)]
    res = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    result = json.loads(out.read_text())
    assert result['world_size'] == 2
    assert result['ranks_identical'] is True     # DDP kept student and connector in sync
    assert result['teacher_in_ddp'] is False     # the teacher is not a DDP parameter
    assert sorted(result['last_losses']) == ['distill.hint', 'distill.logits']

