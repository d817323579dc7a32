"""Tests that students can see and run, one module per assignment."""
