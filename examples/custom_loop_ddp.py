"""``examples/custom_loop.py`` under DistributedDataParallel on CPU processes (gloo).

    torchrun --nproc_per_node 2 examples/custom_loop_ddp.py [--steps 100] [--out result.json]

Rank 0 trains the teacher and broadcasts its weights, so every rank distils
from the same teacher. The student and the ``kd.apis.Distiller`` (its
connector) are wrapped together in one module whose ``forward`` runs both, and
that module goes to DDP: the connector's gradients are averaged with the
student's, and the teacher, which is not a sub-module of the distiller, is
never seen by DDP. Each rank trains on its own mini-batches. At the end the
ranks compare their weights; ``--out`` gets rank 0's results.

Ending a gloo process on torch 2.13: freeing a DDP model while gloo's threads
still destroy a finished collective can hang the process
(``docs/plain_pytorch.md``). The script therefore keeps the DDP model alive,
meets the other ranks at a barrier, waits 0.2 s, destroys the process group,
and only then lets the model go.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

# the script's own directory is on sys.path when Python runs it: no path edits
from custom_loop import DISTILL, accuracy, batches, digits, make_net, train_plain
from torch.nn.parallel import DistributedDataParallel as DDP

from kd.apis import Distiller


class StudentWithDistillation(nn.Module):
    """One module for DDP: the student's forward inside the distiller's recording."""

    def __init__(self, student: nn.Module, distiller: Distiller) -> None:
        super().__init__()
        self.student, self.distiller = student, distiller

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        with self.distiller.record():
            logits = self.student(x)
        return logits, self.distiller.losses()


def train(steps: int, seed: int, rank: int, world: int) -> tuple[DDP, dict]:
    x, y = digits('train')
    x_val, y_val = digits('val')
    torch.manual_seed(seed)
    teacher = make_net(16)
    if rank == 0:
        train_plain(teacher, x, y, steps, seed)
    for tensor in teacher.state_dict().values():   # every rank: rank 0's teacher
        dist.broadcast(tensor, src=0)

    torch.manual_seed(seed + 1)     # the same initial student on every rank
    student = make_net(4)
    distiller = Distiller(student, teacher, DISTILL, example_inputs=x[:2])
    model = DDP(StudentWithDistillation(student, distiller))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step, (xb, yb) in enumerate(batches(x, y, 32, steps, seed + 100 + rank)):
        distiller.set_progress(iteration=step, max_iters=steps)
        logits, losses = model(xb)
        loss = F.cross_entropy(logits, yb) + sum(losses.values())
        optimizer.zero_grad()
        loss.backward()              # DDP averages student and connector gradients
        optimizer.step()

    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    result = dict(
        world_size=world,
        ranks_identical=all(torch.equal(gathered[0], g) for g in gathered),
        teacher_in_ddp=any(p is q for p in model.parameters() for q in teacher.parameters()),
        teacher=accuracy(teacher, x_val, y_val),
        student_distilled=accuracy(student, x_val, y_val),
        last_losses={k: v.item() for k, v in losses.items()})
    return model, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=100, help='training steps')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='rank 0 writes the results here as JSON')
    args = parser.parse_args(argv)
    if 'RANK' not in os.environ:
        raise SystemExit('run me with torchrun, e.g. '
                         'torchrun --nproc_per_node 2 examples/custom_loop_ddp.py')
    dist.init_process_group('gloo')   # the models stay on the CPU (use nccl for GPUs)
    rank, world = dist.get_rank(), dist.get_world_size()
    model, result = train(args.steps, args.seed, rank, world)
    if rank == 0:
        print(f"{world} ranks, identical weights: {result['ranks_identical']}; val "
              f"accuracy: teacher {result['teacher']:.3f}, distilled student "
              f"{result['student_distilled']:.3f}")
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=1)
    # leave together, with the DDP model still alive (see the module docstring)
    dist.barrier()
    time.sleep(0.2)
    dist.destroy_process_group()
    del model


if __name__ == '__main__':
    main()
