"""Benchmarks and calibration simulations of the statistical judge (``canary.analysis``)."""
