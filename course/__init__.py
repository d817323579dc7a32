"""The instructor's tools behind the ``course`` command.

Release, grading, the demo class, reference generation, known mistakes,
hidden probes and data generators live here. Notebooks never import this
package: what they import is the student runtime, :mod:`utils`.
"""
