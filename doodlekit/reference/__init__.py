"""Reference outputs shipped with the kit, so that what you compute can be checked against ours.

- ``lesson-<variant>.pt`` and ``lesson-models.json``: the lessons' models, their SHA-256, recipe,
  history, test metrics and the machine that trained them (:mod:`doodlekit.experiments.lessons`);
- ``reproduce-quick.json`` and ``reproduce-default.json``: ``results.json`` of
  ``doodlekit reproduce --quick`` and of its defaults, with the machine they ran on
  (:mod:`doodlekit.experiments.reproduce`);
- ``reproduce-animal-mnist.json``: ``results.json`` of ``doodlekit reproduce --dataset animal-mnist``
  (seeds 0, 1, 2), which notebook 07 reads (:func:`doodlekit.experiments.crossdomain.animal_results`).
"""

from pathlib import Path

#: The folder of the shipped reference files.
REFERENCE_DIR = Path(__file__).resolve().parent
