"""The two-headed network, its losses and variants, training, inference and checkpoints.

- :mod:`doodlekit.model.network`
- :mod:`doodlekit.model.variants`
- :mod:`doodlekit.model.losses`
- :mod:`doodlekit.model.config`
- :mod:`doodlekit.model.inference`
- :mod:`doodlekit.model.checkpoints`
- :mod:`doodlekit.model.training`

Every public name of these modules can be imported from here (``from doodlekit.model import ...``);
a module is imported when one of its names is first asked for (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    'BACKBONES': 'network',
    'DoodleNet': 'network',
    'VECTOR_KINDS': 'variants',
    'Variant': 'variants',
    'VARIANTS': 'variants',
    'display_name': 'variants',
    'check_variant': 'variants',
    'DVSQ_MARGIN': 'losses',
    'cross_entropy_loss': 'losses',
    'cosine_hinge_loss': 'losses',
    'fixed_margin_loss': 'losses',
    'adaptive_margin_loss': 'losses',
    'MultitaskLoss': 'losses',
    'SCHEDULES': 'config',
    'TrainConfig': 'config',
    'INFER_BATCH': 'inference',
    'BitmapData': 'inference',
    'as_pixels': 'inference',
    'to_input': 'inference',
    'embed': 'inference',
    'topk_accuracy': 'inference',
    'predict_proba': 'inference',
    'evaluate': 'inference',
    'CHECKPOINT_FORMAT': 'checkpoints',
    'state_dict_sha256': 'checkpoints',
    'save_checkpoint': 'checkpoints',
    'load_checkpoint': 'checkpoints',
    'History': 'training',
    'seed_everything': 'training',
    'fit': 'training',
    'Trained': 'training',
    'train_variant': 'training',
})
