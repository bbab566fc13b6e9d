"""trainer: labelled images -> a float Keras model the app can use.

TensorFlow is imported only by the code that trains. Reading labelled images
(``liteship.dataset``, ``liteship.archive``) is core: bench scores on the same
images without importing the trainer.
"""

from liteship.contract import InputContract, pixels_to_float, to_model_pixels
from liteship.dataset import Dataset, load_dataset, split_indices
from liteship.errors import LiteshipError
from liteship.trainer.models import FLAG_NAMES, get_arch, list_archs, register
from liteship.trainer.augment import AUGMENTATIONS, Augmentation, augment_problems, augmentation_of
from liteship.trainer.card import augment_entry
from liteship.trainer.training import skipped_lines, tf_dataset, train, train_dataset, TrainConfig, TrainResult
from liteship.trainer.feed import carried_errors, float_predict
from liteship.trainer.determinism import op_determinism, when

__all__ = ["AUGMENTATIONS", "Augmentation", "augment_entry", "augment_problems", "augmentation_of", "carried_errors", "Dataset", "FLAG_NAMES", "float_predict", "get_arch", "InputContract", "list_archs", "LiteshipError", "load_dataset", "op_determinism",
           "pixels_to_float", "register", "skipped_lines", "split_indices", "tf_dataset", "to_model_pixels", "train", "train_dataset", "TrainConfig",
           "TrainResult", "when"]
