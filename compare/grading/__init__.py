"""Grading students' backward passes: running their code, judging what it returns,
naming the mistake, probing beyond the exercise's one example.

The runner imports a submission and calls its function in a child process, sandboxed
with bubblewrap where it can be (``docs/sandbox.md``):

- ``runner``: ``run_submission(path, function, calls)`` -> ``SubmissionRun``, and ``Session``,
  one child for several batches of calls (parent side);
- ``child``: the child process (standard library and NumPy only);
- ``sandbox``: ``Limits``, the bwrap command, the choice between bwrap and none;
- ``decode``: the strict reading of the child's result;
- ``escape``: ``escape_untrusted`` for every text the student controls.

Importing this package imports, before any student code can run, the modules the
grader loads later and that could be shadowed by a file the student's code drops:
mpmath (which tries ``import gmpy2`` once, at import) and tabulate.
"""
import mpmath  # noqa: F401 - see above: its gmpy2 lookup happens now, not after the student ran
import tabulate  # noqa: F401

from compare.grading.escape import escape_untrusted
from compare.grading.runner import Call, CallResult, Session, SubmissionRun, run_submission, run_submissions
from compare.grading.sandbox import Limits, SandboxError

__all__ = ["Call", "CallResult", "Limits", "SandboxError", "Session", "SubmissionRun", "escape_untrusted",
           "run_submission", "run_submissions"]
