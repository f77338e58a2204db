"""Pictures of what a distiller compares: feature maps per distill entry and level."""
from .feature_maps import (
    FeaturePair,
    collect_features,
    first_sample,
    input_to_image,
    render_pair,
    unwrap_model,
)

__all__ = ['FeaturePair', 'collect_features', 'first_sample', 'input_to_image', 'render_pair',
           'unwrap_model']
