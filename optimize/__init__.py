"""optimize: a float model -> .tflite variants (float16, dynamic, int8, pruned, QAT, clustered, selective).

Recipes register themselves with their config class and costs (:mod:`liteship.optimize.registry`). TensorFlow
and tfmot are imported only inside the recipes; inspecting a .tflite is core's (:mod:`liteship.tflite_file`), so it
works in a light install.
"""

from liteship.optimize.registry import (FineTuning, get_recipe, list_recipes, recipe, recipe_chains, RecipeCosts,
                                        RecipeData, RecipeOutput)
from liteship.optimize.op_error import calibration_images, op_errors, OpError, worst_first
from liteship.optimize.run import (optimize_run, parse_recipes, plan_variants, recipe_configs, resolve_configs,
                                   run_recipe, with_defaults)

__all__ = ["calibration_images", "FineTuning", "get_recipe", "list_recipes", "op_errors", "OpError", "optimize_run",
           "parse_recipes", "plan_variants", "recipe", "recipe_configs", "recipe_chains", "RecipeCosts", "RecipeData",
           "RecipeOutput", "resolve_configs", "run_recipe", "with_defaults", "worst_first"]

# liteship.optimize(...) is the Python API's optimize step (liteship.workflow.api.optimize), imported only when called:
# see liteship.callable_module for why the package is also a function.
from liteship.callable_module import callable_module as _callable_module  # noqa: E402

_callable_module(__name__, "liteship.workflow.api", "optimize")
