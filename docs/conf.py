"""Sphinx configuration of clogreg's documentation.

Build (warnings are errors) and run the examples as doctests::

    python -m pip install ".[docs]"
    sphinx-build -W -b html docs docs/_build/html
    sphinx-build -W -b doctest docs docs/_build/doctest

The user guide reuses the README's sections and BENCHMARKS.md verbatim (MyST's
``include`` with start/end markers), so that the two never disagree.
"""
import doctest
import re

import clogreg

project = "clogreg"
author = "The clogreg developers"
copyright = "the clogreg developers"
version = release = clogreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# numpydoc renders the docstrings; the class's methods are listed by autodoc itself
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autosummary_generate = False  # tables of links only: no generated stub files
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types

# the doctest builder: every >>> example of the pages and of the docstrings
# (the docstrings' examples also run as doctest.testmod runs them, in their module's
# namespace: the public names stand in for it)
doctest_global_setup = "import numpy as np\nimport clogreg\nfrom clogreg import *"
doctest_default_flags = (doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
                         | doctest.DONT_ACCEPT_TRUE_FOR_1)

myst_heading_anchors = 3


# Two reST pitfalls in plain-text docstrings, escaped before numpydoc reads them:
# ``(n_features_in_,)`` (a trailing underscore makes a reST link target) and ``|z|``
# (a substitution). The docstrings read well as text; only reST trips on them.
_TRAILING_UNDERSCORE = re.compile(r"\((\w+_),\)")
_BARS = re.compile(r"(?<![`|])(\|\w+\|)(?![`|])")


def _escape_rest_pitfalls(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if line.lstrip().startswith((">>>", "...")):
            continue  # code
        line = _TRAILING_UNDERSCORE.sub(r"(``\1``,)", line)
        lines[i] = _BARS.sub(r"``\1``", line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_rest_pitfalls, priority=100)
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Logistic regression with a Cython core"}
