"""Password hashes the FAB auth manager accepts, made with the standard library alone.

FAB checks a login with werkzeug's ``check_password_hash``, which reads the method and its
parameters from the stored value itself (``scrypt:N:r:p$salt$hex``, werkzeug's default since
2.3 and FAB's own ``FAB_PASSWORD_HASH_METHOD`` default). So the local target can give the users
kept in a cached metadata database this session's passwords by writing their hashes into
``ab_user``, instead of paying Airflow's whole start-up (seconds) in a FAB process to do it.
"""

from __future__ import annotations

import hashlib
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # werkzeug's defaults for "scrypt"


def password_hash(password: str, salt: str | None = None) -> str:
    """``password`` as werkzeug's ``generate_password_hash(password, "scrypt")`` would store it."""
    salt = salt if salt is not None else secrets.token_hex(8)
    if "$" in salt:
        raise ValueError("a salt may not contain '$', which separates the hash's fields")
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt.encode(),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=132 * SCRYPT_N * SCRYPT_R * SCRYPT_P,
    )
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}${salt}${digest.hex()}"
