"""Measure every distillation method on the embedded data; write the method READMEs and summary.

    python tools/analysis_tools/method_zoo.py [--methods cwd kd ...] [--seeds 0 1 2] [--jobs 2]

For each method (all by default) this trains the baseline student and the
method's recipe once per seed with ``tools/train.py`` (finished runs in
``work_dirs/bench_<task>`` are reused, so an interrupted
run continues where it stopped), then writes

* ``configs/<method>/README.md``: paper, what the method does, the loss and its
  reference, the measured result (mean ± std over seeds and per seed) and the
  commands;
* ``docs/results_methods.md``: one summary table, method | task | baseline |
  distilled | Δ, for every method measured so far.
* ``configs/<method>/metafile.yml`` (OpenMMLab model-index format: the collection
  with its paper, one model per recipe with the mean metric over seeds and the
  seed-0 ``student_last.pth`` as weights) and the top-level ``model-index.yml``
  importing every metafile (also read by ``mim`` and by MMEngine for ``kd::``
  config paths). ``--metafiles-only`` writes just these, from finished runs,
  without training anything.

Each method belongs to one task (``TASKS``), which fixes its baseline student,
teacher and metric: most detection recipes distil RetinaNet R18/2 (teacher) into
RetinaNet R18/4 on DigitsDet (``det``), LD needs GFL heads (``det_gfl``: GFL
R18/2 -> R18/4) and the YOLO objectness distillation YOLOv3 heads (``det_yolo``:
YOLOv3 R18/2 -> R18/4), metric COCO mAP50-95; classification recipes distil CIFAR
ResNet-20 into ResNet-8 on DigitsCls (``cls``), metric top-1. The teacher of every
task used must exist (train it with the task's ``teacher`` config; see
configs/quickstart/README.md, configs/ld/README.md, configs/yolo_kd/README.md).
"""
from __future__ import annotations

import argparse
import glob
import os
import os.path as osp
import re
import statistics
import sys
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))

from demo import log  # noqa: E402
from run_benchmark_table import run_grid  # noqa: E402

TASKS = {
    'det': dict(
        baseline='configs/quickstart/retinanet_student_digits.py',
        teacher='configs/quickstart/retinanet_teacher_digits.py',
        teacher_ckpt='work_dirs/retinanet_teacher_digits/iter_3000.pth',
        work_dir='work_dirs/bench_det', key='coco/bbox_mAP', metric='mAP50-95',
        what='DigitsDet, RetinaNet R18/4 + FPN 32 (0.79 M params) <- RetinaNet R18/2 + FPN 64 '
             '(3.16 M), 1500 iterations, batch 16'),
    'cls': dict(
        baseline='configs/quickstart/resnet_student_digits_cls.py',
        teacher='configs/quickstart/resnet_teacher_digits_cls.py',
        teacher_ckpt='work_dirs/resnet_teacher_digits_cls/epoch_10.pth',
        work_dir='work_dirs/bench_cls', key='accuracy/top1', metric='top-1',
        what='DigitsCls, CIFAR ResNet-8 (0.078 M params) <- CIFAR ResNet-20 (0.27 M), '
             '10 epochs, batch 64'),
    'det_gfl': dict(
        baseline='configs/ld/gfl_student_digits.py',
        teacher='configs/ld/gfl_teacher_digits.py',
        teacher_ckpt='work_dirs/gfl_teacher_digits/iter_3000.pth',
        work_dir='work_dirs/bench_det_gfl', key='coco/bbox_mAP', metric='mAP50-95',
        what='DigitsDet, GFL R18/4 + FPN 32 (0.77 M params) <- GFL R18/2 + FPN 64 '
             '(3.11 M), 1500 iterations, batch 16'),
    'det_yolo': dict(
        baseline='configs/yolo_kd/yolov3_student_digits.py',
        teacher='configs/yolo_kd/yolov3_teacher_digits.py',
        teacher_ckpt='work_dirs/yolov3_teacher_digits/iter_3000.pth',
        work_dir='work_dirs/bench_det_yolo', key='coco/bbox_mAP', metric='mAP50-95',
        what='DigitsDet, YOLOv3 R18/4 (1.04 M params) <- YOLOv3 R18/2 (4.13 M), '
             '1500 iterations, batch 16'),
    'det_dino': dict(
        baseline='configs/detr_kd/dino_student_digits.py',
        teacher='configs/detr_kd/dino_teacher_digits.py',
        teacher_ckpt='work_dirs/dino_teacher_digits/iter_1500.pth',
        work_dir='work_dirs/bench_det_dino', key='coco/bbox_mAP', metric='mAP50-95',
        what='DigitsDet, DINO 2+2 layers (4.24 M params) <- DINO 3+3 layers (9.65 M), '
             '30 queries, 1500 iterations, batch 16'),
}

# key -> name, paper, url (arXiv where there is one), loss class, loss file, task, recipes,
# two sentences
METHODS = {
    'kd': dict(
        name='KD', loss='KDLoss', file='kd/losses/logits/kd_loss.py', task='cls',
        paper='G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural '
              'Network". arXiv:1503.02531, 2015.',
        url='https://arxiv.org/abs/1503.02531',
        about='The student matches the teacher\'s temperature-softened class probabilities '
              '(KL divergence, scaled by tau^2) besides its own cross-entropy. The soft '
              'labels carry how similar the teacher finds the wrong classes.',
        recipes=['configs/quickstart/kd_resnet_digits_cls.py']),
    'dkd': dict(
        name='DKD', loss='DKDLoss', file='kd/losses/logits/dkd.py', task='cls',
        paper='B. Zhao, Q. Cui, R. Song, Y. Qiu, J. Liang. "Decoupled Knowledge '
              'Distillation". CVPR 2022.',
        url='https://arxiv.org/abs/2203.08679',
        about='KD split into a target-class term (TCKD, weight alpha) and a non-target-class '
              'term (NCKD, weight beta) so the dark knowledge among wrong classes is no longer '
              'suppressed by the teacher\'s confidence.',
        recipes=['configs/dkd/dkd_resnet_digits_cls.py']),
    'dist': dict(
        name='DIST', loss='DISTLoss', file='kd/losses/logits/dist.py', task='cls',
        paper='T. Huang, S. You, F. Wang, C. Qian, C. Xu. "Knowledge Distillation from A '
              'Stronger Teacher". NeurIPS 2022.',
        url='https://arxiv.org/abs/2205.10536',
        about='Instead of matching probabilities exactly, the student maximises the Pearson '
              'correlation with the teacher\'s probabilities per sample (inter-class) and per '
              'class across the batch (intra-class), which tolerates a large teacher gap.',
        recipes=['configs/dist/dist_resnet_digits_cls.py']),
    'wsld': dict(
        name='WSLD', loss='WSLDLoss', file='kd/losses/logits/wsld.py', task='cls',
        paper='H. Zhou, L. Song, J. Chen, Y. Zhou, G. Wang, J. Yuan, Q. Zhang. "Rethinking '
              'Soft Labels for Knowledge Distillation: A Bias-Variance Tradeoff '
              'Perspective". ICLR 2021.',
        url='https://arxiv.org/abs/2102.00650',
        about='The soft-label loss of each sample is weighted by how much better the teacher '
              'fits it than the student (a ratio of their cross-entropies), so samples where '
              'the teacher adds only variance count less.',
        recipes=['configs/wsld/wsld_resnet_digits_cls.py']),
    'soft_ce': dict(
        name='Soft-target cross-entropy', loss='SoftCrossEntropyLoss',
        file='kd/losses/logits/soft_ce.py', task='cls',
        paper='G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural '
              'Network". arXiv:1503.02531, 2015 (the cross-entropy form of the objective).',
        url='https://arxiv.org/abs/1503.02531',
        about='Cross-entropy of the student against the teacher\'s softened probabilities. It '
              'differs from KD only by the teacher\'s entropy, a constant: the gradients and '
              'the trained student are the same, only the logged value differs.',
        recipes=['configs/soft_ce/soft_ce_resnet_digits_cls.py']),
    'logits_lp': dict(
        name='Logit L2 / L1 matching', loss='LogitsMSELoss, LogitsL1Loss',
        file='kd/losses/logits/logits_lp.py', task='cls',
        paper='J. Ba, R. Caruana. "Do Deep Nets Really Need to be Deep?". NeurIPS 2014 '
              '(logit regression); the L1/L2 logit terms of YOLO distillation projects.',
        url='https://arxiv.org/abs/1312.6184',
        about='The student regresses the teacher\'s raw logits (squared or absolute '
              'difference), with no softmax: every logit counts, including those of classes '
              'the teacher rules out.',
        recipes=['configs/logits_lp/logits_mse_resnet_digits_cls.py',
                 'configs/logits_lp/logits_l1_resnet_digits_cls.py']),
    'fitnets': dict(
        name='FitNets / Mimic', loss='FeatureMSELoss', file='kd/losses/feature/feature_mse.py',
        task='det',
        paper='A. Romero, N. Ballas, S. E. Kahou, A. Chassang, C. Gatta, Y. Bengio. "FitNets: '
              'Hints for Thin Deep Nets". ICLR 2015; Q. Li, S. Jin, J. Yan. "Mimicking Very '
              'Efficient Network for Object Detection". CVPR 2017.',
        url='https://arxiv.org/abs/1412.6550',
        about='A 1x1 connector maps the student\'s feature to the teacher\'s channels and the '
              'two are matched with a mean squared error, here on every FPN level.',
        recipes=['configs/fitnets/fitnets_retinanet_digits.py']),
    'at': dict(
        name='AT', loss='ATLoss', file='kd/losses/feature/at.py', task='det',
        paper='S. Zagoruyko, N. Komodakis. "Paying More Attention to Attention: Improving '
              'the Performance of Convolutional Neural Networks via Attention Transfer". '
              'ICLR 2017.',
        url='https://arxiv.org/abs/1612.03928',
        about='Each feature map is reduced to a spatial attention map (mean of squared '
              'activations over channels, L2-normalised) and the student\'s map is matched to '
              'the teacher\'s; channel counts may differ.',
        recipes=['configs/at/at_retinanet_digits.py']),
    'cwd': dict(
        name='CWD', loss='ChannelWiseDivergence', file='kd/losses/feature/cwd.py', task='det',
        paper='C. Shu, Y. Liu, J. Gao, Z. Yan, C. Shen. "Channel-wise Knowledge Distillation '
              'for Dense Prediction". ICCV 2021.',
        url='https://arxiv.org/abs/2011.13256',
        about='Each channel of a feature map is turned into a spatial probability distribution '
              '(softmax over positions with temperature tau) and the student\'s distributions '
              'are matched to the teacher\'s with a KL divergence, so the student learns where '
              'each teacher channel fires.',
        recipes=['configs/quickstart/cwd_retinanet_digits.py']),
    'mgd': dict(
        name='MGD', loss='MGDLoss', file='kd/losses/feature/mgd.py', task='det',
        paper='Z. Yang, Z. Li, M. Shao, D. Shi, Z. Yuan, C. Yuan. "Masked Generative '
              'Distillation". ECCV 2022.',
        url='https://arxiv.org/abs/2205.01529',
        about='Random spatial positions of the student\'s feature are masked and a small '
              'generation block must reconstruct the teacher\'s full feature from the rest, so '
              'the student learns features from which the teacher\'s can be generated.',
        recipes=['configs/mgd/mgd_retinanet_digits.py']),
    'pkd': dict(
        name='PKD', loss='PKDLoss', file='kd/losses/feature/pkd.py', task='det',
        paper='W. Cao, Y. Zhang, J. Gao, A. Cheng, K. Cheng, J. Cheng. "PKD: General '
              'Distillation Framework for Object Detectors via Pearson Correlation '
              'Coefficient". NeurIPS 2022.',
        url='https://arxiv.org/abs/2207.02039',
        about='Both features are normalised to zero mean and unit variance per channel before '
              'the MSE, which equals matching their Pearson correlation: the magnitude gap '
              'between heterogeneous detectors no longer dominates the loss.',
        recipes=['configs/pkd/pkd_retinanet_digits.py']),
    'ickd': dict(
        name='ICKD (ChSim)', loss='ICKDLoss', file='kd/losses/feature/ickd.py', task='det',
        paper='L. Liu, Q. Huang, S. Lin, H. Xie, B. Wang, X. Chang, X. Liang. "Exploring '
              'Inter-Channel Correlation for Diversity-preserved Knowledge Distillation". '
              'ICCV 2021.',
        url='https://arxiv.org/abs/2202.03680',
        about='The student matches the teacher\'s inter-channel correlation (the row-normalised '
              'channel Gram matrix) instead of the features themselves, keeping the diversity '
              'of the teacher\'s channels.',
        recipes=['configs/ickd/ickd_retinanet_digits.py']),
    'nst': dict(
        name='NST', loss='NSTLoss', file='kd/losses/feature/nst.py', task='det',
        paper='Z. Huang, N. Wang. "Like What You Like: Knowledge Distill via Neuron '
              'Selectivity Transfer". arXiv:1707.01219, 2017.',
        url='https://arxiv.org/abs/1707.01219',
        about='Each channel\'s normalised activation map is a sample of a distribution; the '
              'student minimises the maximum mean discrepancy (polynomial kernel) between its '
              'channel maps and the teacher\'s. Channel counts may differ.',
        recipes=['configs/nst/nst_retinanet_digits.py']),
    'fbkd': dict(
        name='FBKD', loss='FBKDLoss', file='kd/losses/feature/fbkd.py', task='det',
        paper='L. Zhang, K. Ma. "Improve Object Detection with Feature-based Knowledge '
              'Distillation: Towards Accurate and Efficient Detectors". ICLR 2021.',
        url='https://openreview.net/forum?id=uKhGRvM8QNH',
        about='The teacher\'s spatial and channel attention select what the student imitates '
              '(attention-masked feature loss plus attention matching), and a non-local block '
              'on each side transfers the relations between pixels.',
        recipes=['configs/fbkd/fbkd_retinanet_digits.py']),
    'fgd': dict(
        name='FGD', loss='FGDLoss', file='kd/losses/detection/fgd.py', task='det',
        paper='Z. Yang, Z. Li, X. Jiang, Y. Gong, Z. Yuan, D. Zhao, C. Yuan. "Focal and Global '
              'Knowledge Distillation for Detectors". CVPR 2022.',
        url='https://arxiv.org/abs/2111.11837',
        about='Ground-truth boxes split each FPN level into foreground and background, which are '
              'imitated separately under the teacher\'s spatial and channel attention (plus an '
              'attention-matching term), and a GcBlock on each side transfers the global '
              'relations between pixels.',
        recipes=['configs/fgd/fgd_retinanet_digits.py']),
    'dense_kd': dict(
        name='Dense-head soft-label KD', loss='DenseHeadKDLoss',
        file='kd/losses/detection/dense_head_kd.py', task='det',
        paper='G. Chen, W. Choi, X. Yu, T. Han, M. Chandraker. "Learning Efficient Object '
              'Detection Models with Knowledge Distillation". NeurIPS 2017 (soft classification '
              'targets and teacher-guided regression for detectors).',
        url='https://papers.nips.cc/paper/2017/hash/e1e32e235eee1f970470a3a6658dfdd5-Abstract.html',
        about='Every anchor of the student\'s dense head learns the teacher\'s sigmoid class '
              'scores (BCE) and, weighted by the teacher\'s confidence, its box deltas (L1).',
        recipes=['configs/quickstart/dense_kd_retinanet_digits.py']),
    'ld': dict(
        name='LD', loss='LDLoss', file='kd/losses/detection/ld.py', task='det_gfl',
        paper='Z. Zheng, R. Ye, P. Wang, D. Ren, W. Zuo, Q. Hou, M.-M. Cheng. "Localization '
              'Distillation for Dense Object Detection". CVPR 2022.',
        url='https://arxiv.org/abs/2102.12252',
        about='Each box edge of a GFL head is a distribution over discrete distances; the '
              'student matches the teacher\'s temperature-softened edge distributions (KL '
              'divergence) on the positive anchors and on the valuable localization region, '
              'anchors just below the positive IoU threshold.',
        recipes=['configs/ld/ld_gfl_digits.py']),
    'yolo_kd': dict(
        name='YOLO objectness-scaled KD', loss='YOLOObjectnessKDLoss',
        file='kd/losses/detection/yolo_kd.py', task='det_yolo',
        paper='R. Mehta, C. Ozturk. "Object detection at 200 Frames Per Second". ECCV '
              'Workshops 2018.',
        url='https://arxiv.org/abs/1805.06361',
        about='The student learns the teacher\'s raw YOLOv3 outputs, with the box and class '
              'terms of every anchor scaled by the teacher\'s objectness so that the many '
              'background anchors do not pass on the teacher\'s noise; objectness is distilled '
              'everywhere.',
        recipes=['configs/yolo_kd/yolo_kd_yolov3_digits.py']),
    'detr_kd': dict(
        name='DETR logit and box KD', loss='DETRDistillLoss',
        file='kd/losses/detection/detr_kd.py', task='det_dino',
        paper='X. Chang et al. "DETRDistill: A Universal Knowledge Distillation Framework for '
              'DETR-families". ICCV 2023 (the Hungarian-matched prediction distillation '
              'part).',
        url='https://arxiv.org/abs/2211.10156',
        about='Student decoder queries are matched one-to-one to the teacher\'s confident '
              'predictions with the Hungarian algorithm (DINO\'s matching cost); matched pairs '
              'learn the teacher\'s class scores and boxes (L1 + GIoU), weighted by the '
              'teacher\'s confidence, and denoising queries are left out.',
        recipes=['configs/detr_kd/detr_kd_dino_digits.py']),
    'sp': dict(
        name='SP', loss='SPKDLoss', file='kd/losses/relation/sp.py', task='cls',
        paper='F. Tung, G. Mori. "Similarity-Preserving Knowledge Distillation". ICCV 2019.',
        url='https://arxiv.org/abs/1907.09682',
        about='The student reproduces the teacher\'s batch similarity matrix (row-normalised '
              'Gram matrix of flattened features), so inputs the teacher finds alike stay alike '
              'for the student; feature shapes may differ.',
        recipes=['configs/sp/sp_resnet_digits_cls.py']),
    'rkd': dict(
        name='RKD', loss='RKDLoss', file='kd/losses/relation/rkd.py', task='cls',
        paper='W. Park, D. Kim, Y. Lu, M. Cho. "Relational Knowledge Distillation". CVPR 2019.',
        url='https://arxiv.org/abs/1904.05068',
        about='The student matches the teacher\'s pairwise distances (normalised by their mean) '
              'and the angles formed by triplets of embeddings, with Huber losses: the structure '
              'of the embedding, not its coordinates.',
        recipes=['configs/rkd/rkd_resnet_digits_cls.py',
                 'configs/rkd/rkd_light_resnet_digits_cls.py']),
    'vid': dict(
        name='VID', loss='VIDLoss', file='kd/losses/relation/vid.py', task='cls',
        paper='S. Ahn, S. X. Hu, A. Damianou, N. D. Lawrence, Z. Dai. "Variational '
              'Information Distillation for Knowledge Transfer". CVPR 2019.',
        url='https://arxiv.org/abs/1904.05835',
        about='Maximises a variational lower bound of the mutual information between teacher '
              'and student features: a small regressor predicts the teacher\'s feature from the '
              'student\'s under a Gaussian with learned per-channel variance.',
        recipes=['configs/vid/vid_resnet_digits_cls.py']),
    'irg': dict(
        name='IRG', loss='IRGLoss', file='kd/losses/relation/irg.py', task='cls',
        paper='Y. Liu, J. Cao, B. Li, C. Yuan, W. Hu, Y. Li, Y. Duan. "Knowledge Distillation '
              'via Instance Relationship Graph". CVPR 2019.',
        url=('https://openaccess.thecvf.com/content_CVPR_2019/html/Liu_Kno'
             'wledge_Distillation_via_Instance_Relationship_Graph_CVPR_2019_paper.html'),
        about='The batch forms a graph per layer (vertices: instances; edges: their distances); '
              'the student matches the teacher\'s last-layer vertices, the edges of every layer '
              'and how far each instance moves from one layer to the next.',
        recipes=['configs/irg/irg_resnet_digits_cls.py']),
    'crd': dict(
        name='CRD', loss='CRDLoss', file='kd/losses/relation/crd.py', task='cls',
        paper='Y. Tian, D. Krishnan, P. Isola. "Contrastive Representation Distillation". '
              'ICLR 2020.',
        url='https://arxiv.org/abs/1910.10699',
        about='A contrastive (NCE) objective pulls the student\'s embedding of an image toward '
              'the teacher\'s embedding of the same image and away from the teacher\'s '
              'embeddings of other images, drawn from a memory bank over the training set.',
        recipes=['configs/crd/crd_resnet_digits_cls.py',
                 'configs/crd/crd_light_resnet_digits_cls.py']),
    'pkt': dict(
        name='PKT', loss='PKTLoss', file='kd/losses/feature/pkt.py', task='cls',
        paper='N. Passalis, A. Tefas. "Learning Deep Representations with Probabilistic '
              'Knowledge Transfer". ECCV 2018.',
        url='https://arxiv.org/abs/1803.10837',
        about='Cosine similarities in the batch are turned into conditional probability '
              'distributions (which samples are neighbours of which) and the student\'s are '
              'matched to the teacher\'s with a KL divergence.',
        recipes=['configs/pkt/pkt_resnet_digits_cls.py']),
}


def fmt(values: list[float]) -> str:
    text = f'{statistics.mean(values):.1f}'
    return text + (f' ± {statistics.stdev(values):.1f}' if len(values) > 1 else '')


def delta(values: list[float], base: list[float]) -> str:
    return f'{statistics.mean(values) - statistics.mean(base):+.1f}'


# A method README's text from this line on is written by hand and kept on every rewrite.
KEEP_MARKER = '<!-- method_zoo.py keeps everything from this line on -->'


def write_method_readme(key: str, method: dict, results: dict, seeds: list[int]) -> str:
    task = TASKS[method['task']]
    base = results[task['baseline']]
    seed_text = ' / '.join(map(str, seeds))
    lines = [f'# {method["name"]}', '', f'> {method["paper"]}', '', method['about'], '',
             f'Loss: `{method["loss"]}` in [`{method["file"]}`](../../{method["file"]}) '
             '(its docstring gives the formula, the reference implementation it matches and '
             'every argument).', '',
             '## Result on the embedded data', '',
             f'{task["what"]}; {task["metric"]}, mean ± std over seeds '
             f'{", ".join(map(str, seeds))} (per seed {seed_text}).', '',
             f'| recipe | what | {task["metric"]} | Δ vs student | per seed |',
             '|---|---|---|---|---|',
             f'| student alone (`{task["baseline"]}`) | baseline | {fmt(base)} | | '
             f'{" / ".join(f"{v:.1f}" for v in base)} |']
    from run_benchmark_table import describe
    for recipe in method['recipes']:
        vals = results[recipe]
        lines.append(f'| [`{osp.basename(recipe)}`](../../{recipe}) | {describe(recipe)} | '
                     f'{fmt(vals)} | {delta(vals, base)} | '
                     f'{" / ".join(f"{v:.1f}" for v in vals)} |')
    lines += ['', 'A negative Δ is reported as measured: the recipe does not help this pair '
              'on this schedule.' if any(statistics.mean(results[r]) < statistics.mean(base)
                                         for r in method['recipes']) else
              'Compare the Δ with the spread over seeds before reading much into it.', '',
              '## Commands', '',
              'Teacher (once): `python tools/train.py ' + task['teacher'] + '` '
              f'(writes `{task["teacher_ckpt"]}`).', '',
              'One run: `python tools/train.py ' + method['recipes'][0] + '`', '',
              'This table (reuses finished runs): '
              f'`python tools/analysis_tools/method_zoo.py --methods {key} --seeds '
              f'{" ".join(map(str, seeds))}`', '']
    folder = osp.join(ROOT, 'configs', key)
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'README.md')
    kept = ''
    if osp.isfile(path):  # hand-written sections (e.g. published COCO numbers) survive
        with open(path) as f:
            old = f.read()
        if KEEP_MARKER in old:
            kept = old[old.index(KEEP_MARKER):]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + (f'\n{kept}' if kept else ''))
    return path


# ----------------------------------------------------------------- model index
# metric key -> (task, data set, metric name) in the OpenMMLab model index
INDEX_RESULTS = {
    'coco/bbox_mAP': ('Object Detection', 'DigitsDet', 'mAP'),
    'accuracy/top1': ('Image Classification', 'DigitsCls', 'Top 1 Accuracy'),
}


def paper_title(paper: str) -> str:
    """The first quoted title of a METHODS ``paper`` reference."""
    found = re.search(r'"(.+?)"', paper)
    return (found.group(1) if found else paper).rstrip('.')


def count_parameters(config: str) -> Optional[int]:
    """Parameters of the student a recipe trains, or None when it cannot be built here."""
    try:
        from mmengine.registry import DefaultScope

        from kd.apis import load_config
        from kd.registry import MODELS
        from kd.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        cfg = load_config(osp.join(ROOT, config))
        model = cfg.model.get('student', cfg.model) if 'Distiller' in str(
            cfg.model.get('type', '')) else cfg.model
        if not isinstance(model, dict) or 'type' not in model:
            return None
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'kd')):
            return sum(p.numel() for p in MODELS.build(model).parameters())
    except Exception as err:  # noqa: BLE001 - the count is optional metadata
        log(f'{config}: parameters not counted ({type(err).__name__}: {err})')
        return None


def write_metafile(key: str, method: dict, results: dict, seeds: list[int],
                   params: Optional[dict] = None) -> str:
    """Write ``configs/<key>/metafile.yml`` for the recipes of ``method`` found in ``results``."""
    import yaml
    task = TASKS[method['task']]
    kind, dataset, metric = INDEX_RESULTS[task['key']]
    readme = f'configs/{key}/README.md'
    models = []
    for recipe in method['recipes']:
        if recipe not in results:
            continue
        name = osp.splitext(osp.basename(recipe))[0]
        weights = osp.join(task['work_dir'], f'{name}_seed{seeds[0]}', 'student_last.pth')
        meta = {'Training Data': dataset, 'Teacher': task['teacher'],
                'Student': task['baseline'], 'Seeds': list(seeds)}
        if params and params.get(recipe):
            meta['Parameters'] = int(params[recipe])
        models.append({
            'Name': name, 'In Collection': method['name'], 'Config': recipe, 'Metadata': meta,
            'Results': [{'Task': kind, 'Dataset': dataset,
                         'Metrics': {metric: round(statistics.mean(results[recipe]), 1)}}],
            'Weights': weights if osp.isfile(osp.join(ROOT, weights)) else 'not released'})
    collection = {
        'Name': method['name'],
        'Metadata': {'Training Data': dataset, 'Training Techniques': ['Knowledge Distillation'],
                     'Loss': method['loss']},
        'Paper': {'URL': method.get('url', ''), 'Title': paper_title(method['paper'])},
        'README': readme if osp.isfile(osp.join(ROOT, readme)) else 'docs/methods.md'}
    folder = osp.join(ROOT, 'configs', key)
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'metafile.yml')
    with open(path, 'w') as f:
        yaml.safe_dump({'Collections': [collection], 'Models': models}, f, sort_keys=False,
                       allow_unicode=True, width=100)
    return path


def write_model_index() -> str:
    """Write ``model-index.yml`` importing every ``configs/*/metafile.yml``."""
    found = sorted(osp.relpath(p, ROOT) for p in
                   glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')))
    lines = ['# OpenMMLab model index of kd, written by tools/analysis_tools/method_zoo.py.',
             '# kd/.mim/model-index.yml links here: MMEngine reads it (with every metafile) when',
             '# it resolves a kd:: config path, and mim lists the models from it.']
    lines += ['Import:'] + [f'  - {p}' for p in found] if found else ['Import: []']
    path = osp.join(ROOT, 'model-index.yml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def finished_results(configs: list[str], seeds: list[int], work_dir: str,
                     key: str) -> dict[str, list[float]]:
    """Metric values of configs whose runs have finished for every seed (nothing is trained)."""
    from demo import final_metrics
    scale = 100 if key.startswith('coco') else 1
    out = {}
    for config in configs:
        name = osp.splitext(osp.basename(config))[0]
        values = []
        for seed in seeds:
            run = osp.join(work_dir, f'{name}_seed{seed}')
            metrics = final_metrics(run, key) if osp.exists(osp.join(run, 'DONE')) else None
            if metrics is None:
                break
            values.append(metrics[key] * scale)
        else:
            out[config] = values
    return out


def write_metafiles_from_finished_runs(methods: list[str], seeds: list[int]) -> None:
    """``--metafiles-only``: metafiles of every method whose runs all finished, then the index."""
    for key in methods:
        method = METHODS[key]
        task = TASKS[method['task']]
        results = finished_results(method['recipes'], seeds, osp.join(ROOT, task['work_dir']),
                                   task['key'])
        if len(results) < len(method['recipes']):
            log(f'{key}: not every run finished for seeds {seeds}; no metafile written')
            continue
        params = {r: count_parameters(r) for r in method['recipes']}
        log(f'wrote {write_metafile(key, method, results, seeds, params)}')
    log(f'wrote {write_model_index()}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS), default=list(METHODS))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument('--summary', default=osp.join(ROOT, 'docs', 'results_methods.md'))
    parser.add_argument('--metafiles-only', action='store_true',
                        help='write only configs/<method>/metafile.yml and model-index.yml, '
                        'from runs that finished for every seed (trains nothing)')
    args = parser.parse_args()
    if args.metafiles_only:
        write_metafiles_from_finished_runs(args.methods, args.seeds)
        return

    for name, task in TASKS.items():
        if any(METHODS[m]['task'] == name for m in args.methods) and \
                not osp.exists(osp.join(ROOT, task['teacher_ckpt'])):
            raise SystemExit(f'teacher checkpoint {task["teacher_ckpt"]} not found: train it '
                             f'first with `python tools/train.py {task["teacher"]}`.')
    results: dict[str, list[float]] = {}
    for name, task in TASKS.items():
        recipes = [r for m in args.methods if METHODS[m]['task'] == name
                   for r in METHODS[m]['recipes']]
        if recipes:
            results.update(run_grid([task['baseline']] + recipes, args.seeds, args.jobs,
                                    osp.join(ROOT, task['work_dir']), task['key']))
    for key in args.methods:
        log(f'wrote {write_method_readme(key, METHODS[key], results, args.seeds)}')
        params = {r: count_parameters(r) for r in METHODS[key]['recipes']}
        log(f'wrote {write_metafile(key, METHODS[key], results, args.seeds, params)}')
    log(f'wrote {write_model_index()}')

    rows = ['| method | task | recipe | baseline | distilled | Δ |', '|---|---|---|---|---|---|']
    for key in args.methods:
        method = METHODS[key]
        task = TASKS[method['task']]
        base = results[task['baseline']]
        for recipe in method['recipes']:
            vals = results[recipe]
            rows.append(f'| [{method["name"]}](../configs/{key}/README.md) | '
                        f'{method["task"]} ({task["metric"]}) | `{osp.basename(recipe)}` | '
                        f'{fmt(base)} | {fmt(vals)} | {delta(vals, base)} |')
    seeds = ' '.join(map(str, args.seeds))
    used = [name for name in TASKS if any(METHODS[m]['task'] == name for m in args.methods)]
    tasks = ' '.join(f'{name}: {TASKS[name]["what"]}.' for name in used)
    text = ['# Every method on the embedded data', '',
            f'Mean ± std over seeds {seeds}. {tasks} Each method\'s README has the per-seed '
            'values.', '',
            f'Command: `python tools/analysis_tools/method_zoo.py --methods '
            f'{" ".join(args.methods)} --seeds {seeds}`', ''] + rows + ['']
    with open(args.summary, 'w') as f:
        f.write('\n'.join(text))
    print('\n'.join(rows))
    log(f'summary written to {args.summary}')


if __name__ == '__main__':
    main()
