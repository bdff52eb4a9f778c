"""The one thing pyproject.toml cannot say: the wheel ships the checkout's models/ (the trained
bundles) and data/ (the chorale corpus) inside the package, as composer/models and
composer/data, where composer.paths finds them through importlib.resources. Everything else
about the package is in pyproject.toml.
"""

from setuptools import find_packages, setup

SHIPPED = ["composer.models", "composer.data", "composer.data.chorales"]

setup(
    packages=find_packages(include=["composer", "composer.*"]) + SHIPPED,
    package_dir={"composer.models": "models", "composer.data": "data"},
    package_data={
        "composer.models": ["*/config.json", "*/weights.npz"],
        "composer.data.chorales": ["*.mid", "manifest.json"],
    },
)
