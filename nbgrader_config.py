"""nbgrader configuration of the course.

`solutions/` is the instructor source and `assignments/` the student release.
Gradebooks, submissions and feedback live under the git-ignored `.grading/`;
`course grade` and `course demo` give each class its own folder there.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, ".grading", "release", "gradebook.db")
# Data files next to a notebook (none today) are released with it; checkpoints and the
# assignment's spec (hidden probes, known mistakes) are not.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "spec.py"]

# Per-cell time limit, from measured times (benchmarks/grading.py): the slowest
# cell while grading (a training smoke run) takes about 3 s on 2 CPU cores, and
# the set-up cell about 4 s. 60 s leaves a wide margin for slow machines while a
# cell that loops forever costs the run one minute, not the whole class.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"

# Restore test cells that a student deleted, and overwrite edited ones from the gradebook.
c.OverwriteCells.add_missing_cells = True

# Safety net: TensorFlow / absl log lines on stderr never cost a student points.
# (utils.notebook.setup() already keeps them out of every cell.) nbgrader drops a
# stderr output that matches the pattern before scoring; the preprocessor is off
# unless enabled.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] tensorflow/)"
)

# Keep runaway prints from bloating the gradebook and feedback.
c.LimitOutput.max_lines = 500
c.LimitOutput.max_traceback = 200

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
