"""Probe definitions (seeded experiments on graded functions), one module per assignment."""
