"""A package that is also a function: ``liteship.optimize(run)`` and ``import liteship.optimize.registry`` both work.

The Python API names its steps after what they do (``liteship.optimize``, ``liteship.bench``), and two of those
names are also the packages of the layers that do the work (``optimize/`` and ``bench/`` install as
``liteship.optimize`` and ``liteship.bench``). Python binds a submodule as an attribute of its parent once it is
imported, so ``liteship.optimize`` is the package whatever ``liteship/__init__`` says; the package's module object
is therefore made callable, and a call runs the workflow's function of the same name.

Why a class in the core, and why the function is named by a string: a package imports only its own and lower
layers (ARCHITECTURE.md, ``tests/test_architecture.py``), and the workflow (layer 6) sits above ``optimize`` (2)
and ``bench`` (3). The call imports the workflow's module by name with :mod:`importlib` only when it is made, so
``optimize`` and ``bench`` keep importing nothing above them, importing them stays as cheap as before, and every
call goes through the workflow's checks, lock and log redirect like any other entry.

``help(liteship.optimize)``, IPython's ``liteship.optimize?`` and :func:`inspect.signature` show how to call it: the
module's ``__signature__`` and ``__doc__`` are the function's (its doc followed by the package's), looked up when
asked, so the workflow is imported then, never at ``import liteship.optimize``.
"""

from __future__ import annotations

import importlib
import sys
import types


class CallableModule(types.ModuleType):
    # A module whose call is getattr(import_module(__liteship_call__[0]), __liteship_call__[1])(...). (No class
    # docstring: __doc__ below is a property, the called function's doc.)

    __liteship_call__: tuple[str, str]

    def __call__(self, *args, **kwargs):
        return self._function()(*args, **kwargs)

    def _function(self):
        module, name = self.__liteship_call__
        return getattr(importlib.import_module(module), name)

    @property
    def __signature__(self):
        """The function's signature, for :func:`inspect.signature`, ``help()`` and ``?``."""
        import inspect

        return inspect.signature(self._function())

    @property
    def __doc__(self) -> str:  # a data descriptor: found before the module's own __doc__ in its __dict__
        package = self.__dict__.get("__doc__") or ""
        try:
            called = self._function()
        except ImportError:  # the workflow cannot be imported here: the package's doc alone
            return package
        import inspect

        module, name = self.__liteship_call__
        return (f"{self.__name__}{inspect.signature(called)}\n\n{inspect.getdoc(called) or ''}\n\n"
                f"{self.__name__}(...) calls {module}.{name}. {self.__name__} is also a package:\n\n{package}")


def callable_module(name: str, module: str, function: str) -> None:
    """Make the imported module ``name`` callable: a call runs ``module.function`` (imported at call time)."""
    target = sys.modules[name]
    target.__liteship_call__ = (module, function)
    target.__class__ = CallableModule
