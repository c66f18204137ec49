"""The suite's users in the FAB auth manager: an admin, one who may read DAG runs but not XCom,
and one who may read the DAGs but not their runs.

Run by the local target with Airflow's own interpreter (``python -m conformance_users FILE``)
after ``airflow db migrate`` and before any component starts; the boot cache then keeps the
users with the database (its key covers this file, so a change of roles or grants is a new
entry). It is not imported by the suite. ``FILE`` is JSON mapping each user name to
``{"role": ..., "password": ...}``. One process for every user and role, because each
``airflow users create`` pays Airflow's whole start-up (about 8 s on 2 cores).

Why roles of our own: FAB's built-in Viewer may read XCom and DAG runs. Each role here grants
exactly what tells its user apart from the admin at one check of ``/wait``: the no-XCom role
has what ``/wait`` itself requires (the DAG and its runs), so the XCom check is the only one it
fails (the AUTH-XCOM-* clauses); the no-runs role has the DAG alone, so the route's own check
of the DAG's runs refuses it (AUTH-RUNS-1), while the DAG itself stays readable to it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

NO_XCOM_ROLE = "ConformanceNoXCom"
NO_RUNS_ROLE = "ConformanceNoRuns"
# each role of our own, with its only grants
ROLES = {
    NO_XCOM_ROLE: (("can_read", "DAGs"), ("can_read", "DAG Runs")),
    NO_RUNS_ROLE: (("can_read", "DAGs"),),
}


def create(users: dict[str, dict[str, str]]) -> None:
    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        for name, permissions in ROLES.items():
            role = security.find_role(name) or security.add_role(name)
            for action, resource in permissions:
                security.add_permission_to_role(role, security.create_permission(action, resource))
        for name, spec in users.items():
            if existing := security.find_user(username=name):  # a database restored earlier in this boot
                security.reset_password(existing.id, spec["password"])
                continue
            granted = security.find_role(spec["role"])
            if granted is None or not security.add_user(
                username=name,
                first_name=name,
                last_name="conformance",
                email=f"{name}@conformance.invalid",
                role=granted,
                password=spec["password"],
            ):
                sys.exit(f"conformance_users: could not create user {name} with role {spec['role']}")


if __name__ == "__main__":
    create(json.loads(Path(sys.argv[1]).read_text()))
