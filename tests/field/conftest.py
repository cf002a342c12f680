"""Field tests: slow and cut networks against the production-like stack."""

from tests.field.stack import field_stack  # noqa: F401  (the fixture)
