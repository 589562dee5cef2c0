"""The one compiled module, gateway.documents._keccak (Keccak-256 of many messages per call, see its
source); everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gateway.documents._keccak",
            ["gateway/documents/_keccak.c"],
            extra_compile_args=["-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ]
)
