"""RT-DETR in MMDetection's scope: backbone, hybrid encoder, decoder, head, losses.

Importing this package registers ``RTDETR``, ``RTDETRResNetV1d``,
``RTDETRHybridEncoder``, ``RTDETRHead`` and ``RTDETRVarifocalLoss`` in mmdet's
``MODELS`` (configs name it in ``custom_imports``).
"""
from .backbone import RTDETRResNetV1d
from .decoder import RTDETRTransformerDecoder
from .denoising import RTDETRCdnQueryGenerator
from .detector import RTDETR, generate_anchors
from .head import RTDETRHead, dn_assignment
from .hybrid_encoder import CSPRepLayer, RepVggBlock, RTDETRHybridEncoder, sincos_position_embedding
from .losses import RTDETRVarifocalLoss, rtdetr_varifocal_loss

__all__ = ['RTDETR', 'RTDETRResNetV1d', 'RTDETRHybridEncoder', 'RTDETRHead',
           'RTDETRVarifocalLoss', 'RTDETRTransformerDecoder', 'RTDETRCdnQueryGenerator',
           'CSPRepLayer', 'RepVggBlock', 'generate_anchors', 'dn_assignment',
           'rtdetr_varifocal_loss', 'sincos_position_embedding']
