"""optimize: a float model -> .tflite variants (float16, dynamic, int8, pruned, QAT, clustered, selective).

TensorFlow and tfmot are imported only inside the recipes, so inspecting a
.tflite (:mod:`optimize.tflite_file`) works in a light install.
"""

from liteship.optimize.registry import RecipeData, RecipeOutput, get_recipe, list_recipes, recipe
from liteship.optimize.run import optimize_run, run_recipe

__all__ = ["RecipeData", "RecipeOutput", "get_recipe", "list_recipes", "optimize_run", "recipe", "run_recipe"]
