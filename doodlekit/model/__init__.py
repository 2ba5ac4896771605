"""The two-headed network, its losses and variants, training, inference and checkpoints.

Every public name of its modules imports lazily from here (:mod:`doodlekit._exports`).
"""

from doodlekit._exports import lazy

__getattr__, __dir__, __all__ = lazy(__name__, {
    "network": ("BACKBONES", "DoodleNet",),
    "variants": ("VECTOR_KINDS", "Variant", "VARIANTS", "display_name", "check_variant",),
    "losses": ("DVSQ_MARGIN", "cross_entropy_loss", "cosine_hinge_loss", "fixed_margin_loss",
        "adaptive_margin_loss", "MultitaskLoss",),
    "codebooks": ("N_CODEWORDS", "RIDGE", "ICM_ITERATIONS", "quantization_loss", "label_metric", "init_codebooks",
        "reconstruct", "update_codebooks", "icm_encode", "fit_codebooks",),
    "config": ("SCHEDULES", "TrainConfig",),
    "inference": ("INFER_BATCH", "BitmapData", "as_pixels", "to_input", "exact_copy", "infer", "embed", "topk_accuracy", "predict_logits",
        "predict_proba", "evaluate",),
    "checkpoints": ("CHECKPOINT_FORMAT", "state_dict_sha256", "save_checkpoint", "load_checkpoint",),
    "training": ("History", "seed_everything", "fit", "Trained", "train_variant",),
    "openset": ("SCORES", "CALIBRATION_DRAWINGS", "TEST_DRAWINGS", "scores_from_outputs", "confidence_scores",
        "auroc", "choose_threshold", "OpenSetRule", "heldout_split", "unknown_bitmaps", "calibrate",),
})
