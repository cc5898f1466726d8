"""The Python API documents itself: each public module says what it exports, and every public class, method and
fixture has a docstring that names its parameters."""

import inspect

import pytest

from betcore_sandbox import pytest_plugin, records, sandbox

MODULES = [sandbox, records, pytest_plugin]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_each_public_module_lists_what_it_exports(module):
    assert module.__all__ and all(hasattr(module, name) for name in module.__all__)


def parameters(fn) -> list[str]:
    skip = {"self", "cls", "request"}  # `request` of a fixture is pytest's, not the user's
    return [p for p in inspect.signature(fn).parameters if p not in skip]


def documented():
    for module in MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, str):
                continue
            yield f"{module.__name__}.{name}", value
            if inspect.isclass(value):
                for attribute, member in vars(value).items():
                    if attribute.startswith("_") and attribute != "__call__":
                        continue
                    if isinstance(member, (classmethod, staticmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or isinstance(member, property):
                        yield f"{module.__name__}.{name}.{attribute}", member


@pytest.mark.parametrize("name, item", list(documented()), ids=lambda v: v if isinstance(v, str) else "")
def test_each_public_item_has_a_docstring_naming_its_parameters(name, item):
    target = getattr(item, "__wrapped__", item)  # a pytest fixture wraps its function
    doc = inspect.getdoc(item.fget if isinstance(item, property) else target)
    assert doc, f"{name} has no docstring"
    if inspect.isfunction(target):
        missing = [p for p in parameters(target) if p not in doc]
        assert not missing, f"{name}'s docstring does not name {missing}"
