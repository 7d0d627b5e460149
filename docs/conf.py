"""Sphinx configuration of the sknoisy documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html``. The build
needs no network: intersphinx is not used, so references to scikit-learn,
skorch and torch objects render as plain code instead of links.
"""

import os
import re
import shutil
import warnings
from pathlib import Path

import sknoisy

project = "sknoisy"
author = "The sknoisy developers"
copyright = "The sknoisy developers"
release = sknoisy.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "examples", "**/sg_execution_times.rst"]
# Only reStructuredText pages; markdown enters through explicit includes.
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# numpydoc renders the Parameters/Attributes sections; autosummary tables of
# members inside class pages would need stub pages for every method.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# Methods inherited from scikit-learn (score, set_fit_request, ...) and
# skorch keep their docstrings, whose :ref: and :term: roles point into
# scikit-learn's own documentation. Without intersphinx (the build is
# offline) those targets do not exist: render them as plain text.
_FOREIGN_ROLE = re.compile(r":(?:ref|term):`([^`<]+?)\s*(?:<[^>]*>)?`")


# Shapes name fitted attributes, as in "ndarray of shape (n_features_in_,)".
# reStructuredText reads a word ending in "_" as a link; scikit-learn writes
# (`n_features_in_`,); sknoisy's docstrings write the names bare, so quote
# them here.
_SHAPE = re.compile(r"shape \(([^()]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def _quote_attribute_names(match):
    return "shape (" + _TRAILING_UNDERSCORE.sub(r"`\1`", match.group(1)) + ")"


# Inherited scikit-learn methods (set_fit_request, set_output, ...) carry
# "Added in version 1.3" notes about *scikit-learn's* versions, which read
# as sknoisy's on its API pages: drop those directives and their bodies.
_VERSION_NOTE = re.compile(r"^(\s*)\.\. (?:versionadded|versionchanged)::")


def _drop_version_notes(lines):
    kept, note_indent = [], None
    for line in lines:
        if note_indent is not None:
            indent = len(line) - len(line.lstrip())
            if not line.strip() or indent > note_indent:
                continue  # the note's body, or a blank line inside or after it
            note_indent = None
            if kept and kept[-1].strip():
                kept.append("")  # the note separated two paragraphs
        match = _VERSION_NOTE.match(line)
        if match:
            note_indent = len(match.group(1))
            continue
        kept.append(line)
    return kept


def _process_docstring(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] == "sknoisy":
        lines[:] = [_SHAPE.sub(_quote_attribute_names, line) for line in lines]
    else:
        lines[:] = [
            _FOREIGN_ROLE.sub(r"*\1*", line) for line in _drop_version_notes(lines)
        ]


# -- Benchmark results ---------------------------------------------------------
# docs/benchmarks/*.rst include benchmarks/results/*.md (markdown, through
# myst-parser); their plots are copied next to them so that the markdown's
# relative image links resolve. The copies are git-ignored.
_RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
_BENCHMARK_PAGES = Path(__file__).resolve().parent / "benchmarks"


def _copy_benchmark_plots(app):
    for plot in _RESULTS.glob("*.png"):
        if "_quick" not in plot.name:
            shutil.copyfile(plot, _BENCHMARK_PAGES / plot.name)


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("builder-inited", _copy_benchmark_plots)


# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "doc_module": ("sknoisy",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
    "reference_url": {"sknoisy": None},
    "reset_modules": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
}
# Examples run with the Agg backend and without a display.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknoisy {release}"
html_theme_options = {
    "github_url": "https://github.com/sknoisy/sknoisy",
    "navigation_with_keys": False,
    "show_prev_next": False,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False
# Tables that fit the article column instead of scrolling (see the file).
html_static_path = ["_static"]
html_css_files = ["sknoisy.css"]
