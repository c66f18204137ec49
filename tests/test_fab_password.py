"""The users' password hashes the local target writes into a restored database: werkzeug's own."""

import pytest

from conformance.targets.fab_password import password_hash

# werkzeug 3.1's generate_password_hash("conformance-secret", method="scrypt"), from the
# Airflow 3.3.2 tox env: what FAB stores, and what check_password_hash recomputes from the salt
WERKZEUG_MADE = (
    "scrypt:32768:8:1$DBZbuOvB1IbvtgRm$1151ca7fda4d62262cf68ebd27ac0c056aec8a24e0fbb7cc400375317be615eb"
    "f17592862e6e89509c21262765b11567b44d76490783d6890920c92ac8c60e80"
)


def test_the_hash_is_the_one_werkzeug_makes_with_the_same_salt():
    assert password_hash("conformance-secret", salt="DBZbuOvB1IbvtgRm") == WERKZEUG_MADE


def test_another_password_gives_another_hash():
    assert password_hash("conformance-secreT", salt="DBZbuOvB1IbvtgRm") != WERKZEUG_MADE


def test_every_hash_gets_a_salt_of_its_own():
    first, second = password_hash("same"), password_hash("same")
    assert first.split("$")[1] != second.split("$")[1] and first != second


def test_a_salt_with_the_field_separator_is_refused():
    with pytest.raises(ValueError, match="separates"):
        password_hash("x", salt="a$b")
