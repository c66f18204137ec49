"""The suite's users in the FAB auth manager: an admin, and one who may read DAG runs but not XCom.

Run by the local target with Airflow's own interpreter (``python -m conformance_users FILE``)
after ``airflow db migrate`` and before any component starts; the boot cache then keeps the
users with the database. It is not imported by the suite. ``FILE`` is JSON mapping each
user name to ``{"role": ..., "password": ...}``. One process for every user and the role,
because each ``airflow users create`` pays Airflow's whole start-up (about 8 s on 2 cores).

Why a role of our own: FAB's built-in Viewer may read XCom, and the clauses about the XCom
check on ``/wait`` need a user whose only grants are the ones ``/wait`` itself requires — the
DAG and its runs — so that the XCom check is the one thing that tells it apart from the admin.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

NO_XCOM_ROLE = "ConformanceNoXCom"
NO_XCOM_PERMISSIONS = (("can_read", "DAGs"), ("can_read", "DAG Runs"))


def create(users: dict[str, dict[str, str]]) -> None:
    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        role = security.find_role(NO_XCOM_ROLE) or security.add_role(NO_XCOM_ROLE)
        for action, resource in NO_XCOM_PERMISSIONS:
            security.add_permission_to_role(role, security.create_permission(action, resource))
        for name, spec in users.items():
            if existing := security.find_user(username=name):  # a database restored earlier in this boot
                security.reset_password(existing.id, spec["password"])
                continue
            granted = security.find_role(spec["role"])
            if granted is None or not security.add_user(
                username=name, first_name=name, last_name="conformance", email=f"{name}@conformance.invalid",
                role=granted, password=spec["password"],
            ):
                sys.exit(f"conformance_users: could not create user {name} with role {spec['role']}")


if __name__ == "__main__":
    create(json.loads(Path(sys.argv[1]).read_text()))
