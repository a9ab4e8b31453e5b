"""kindling's CrossGuard policy pack. The CLI runs ``__main__.py``; tests import ``policies.kindling_policies``."""
