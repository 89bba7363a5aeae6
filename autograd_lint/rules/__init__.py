"""The rule catalog: one module per rule, found by ``autograd_lint.registry``."""
