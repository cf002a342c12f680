from __future__ import annotations

import math
import re

from intake.receipts import ALPHABET, LENGTH, receipt_code_hash, receipt_code_new


def test_receipt_code_has_at_least_80_bits() -> None:
    assert LENGTH * math.log2(len(ALPHABET)) >= 80


def test_receipt_code_is_grouped_without_lookalike_characters() -> None:
    code = receipt_code_new()
    assert re.fullmatch(r"([2-9A-HJKMNP-Z]{4}-){4}[2-9A-HJKMNP-Z]{4}", code)
    assert not set(code) & set("01OIL")


def test_receipt_code_hash_ignores_case_spaces_and_dashes() -> None:
    code = receipt_code_new()
    typed = code.lower().replace("-", " ")
    assert receipt_code_hash(typed) == receipt_code_hash(code)


def test_receipt_codes_differ() -> None:
    assert len({receipt_code_new() for _ in range(1000)}) == 1000
