"""Receipt codes: shown to the witness once, stored only as a hash.

20 symbols from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L) give 99 bits,
printed in groups of four so they can be copied or read aloud.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 20
GROUP = 4


def receipt_code_new() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(symbols[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def receipt_code_normalize(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def receipt_code_hash(code: str) -> str:
    return hashlib.sha256(receipt_code_normalize(code).encode()).hexdigest()
