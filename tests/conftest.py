"""Hypothesis profiles for tests/test_properties.py.

``ci`` (the default) runs PROPERTY_EXAMPLES examples per property test, at least
2,000 in all; ``CLOGREG_HYPOTHESIS_PROFILE=dev`` runs a quick 50 each.
"""
import os

from hypothesis import HealthCheck, settings

PROPERTY_EXAMPLES = 500

settings.register_profile(
    "ci", max_examples=PROPERTY_EXAMPLES, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=50)
settings.load_profile(os.environ.get("CLOGREG_HYPOTHESIS_PROFILE", "ci"))
