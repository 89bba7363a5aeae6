"""pytest plugin: ``pytest --autograd-lint`` runs each test under ``watch``."""
