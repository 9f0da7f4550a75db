"""Only what pyproject.toml cannot say: the checkout's resources/ folder ships inside the package
as gui/data/, where importlib.resources finds it (gui/resources.py).

pyproject.toml's ``packages.find`` cannot add a package that lives in another folder, and an
explicit package list there would silently drop every new subpackage, so the list is found here.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["gui", "gui.*"]), "gui.data"],
    package_dir={"gui.data": "resources"},
)
