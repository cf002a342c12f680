"""Field tests: slow and cut networks against the production-like stack."""

from tests.field.stack import (  # noqa: F401  (the fixtures)
    field_stack,
    field_stack_env,
    static_collected,
)
