"""The suite's FAB users: what the users script makes of each role, and that every user the local
target logs in as is one it makes, in a role it grants.

``airflow_site/conformance_users.py`` runs with Airflow's interpreter, against FAB's security
manager. Here it runs as a subprocess with a fake ``get_application_builder`` in front of it on
``PYTHONPATH``, whose security manager writes down every role, grant and user it was given.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.targets import local
from conformance.targets.base import AIRFLOW_SITE

FAKE_FAB = """
import contextlib, json, os


class Role:
    def __init__(self, name):
        self.name, self.permissions = name, []


class SecurityManager:
    def __init__(self, state):
        self.roles = {name: Role(name) for name in state["builtin_roles"]}
        self.users = state["users"]

    def find_role(self, name):
        return self.roles.get(name)

    def add_role(self, name):
        self.roles[name] = Role(name)
        return self.roles[name]

    def create_permission(self, action, resource):
        return [action, resource]

    def add_permission_to_role(self, role, permission):
        if permission not in role.permissions:
            role.permissions.append(permission)

    def find_user(self, username):
        return type("User", (), {"id": username})() if username in self.users else None

    def reset_password(self, user_id, password):
        self.users[user_id]["password"] = password

    def add_user(self, username, first_name, last_name, email, role, password):
        self.users[username] = {"role": role.name, "password": password}
        return True


@contextlib.contextmanager
def get_application_builder():
    path = os.environ["FAKE_FAB_STATE"]
    state = json.load(open(path))
    security = SecurityManager(state)
    yield type("AppBuilder", (), {"sm": security})()
    state["roles"] = {name: role.permissions for name, role in security.roles.items()}
    state["users"] = security.users
    json.dump(state, open(path, "w"))
"""


def run_users_script(tmp_path: Path, users: dict, existing_users: dict | None = None) -> subprocess.CompletedProcess:
    """The users script run against a fake FAB that knows only its built-in roles (and ``existing_users``)."""
    package = tmp_path / "site" / "airflow" / "providers" / "fab" / "auth_manager" / "cli_commands"
    package.mkdir(parents=True)
    for folder in [package, *package.parents][: len(package.relative_to(tmp_path / "site").parts)]:
        (folder / "__init__.py").touch()
    (package / "utils.py").write_text(FAKE_FAB)
    state = tmp_path / "fab.json"
    state.write_text(json.dumps({"builtin_roles": ["Admin", "Viewer"], "users": existing_users or {}}))
    users_file = tmp_path / "users.json"
    users_file.write_text(json.dumps(users))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(AIRFLOW_SITE)]),
        "FAKE_FAB_STATE": str(state),
    }
    return subprocess.run(
        [sys.executable, "-m", "conformance_users", str(users_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def made_by_users_script(tmp_path: Path, users: dict, existing_users: dict | None = None) -> dict:
    """The roles, grants and users the users script leaves in the fake FAB."""
    done = run_users_script(tmp_path, users, existing_users)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp_path / "fab.json").read_text())


def test_each_role_of_the_suites_own_grants_exactly_what_tells_its_user_apart(tmp_path):
    made = made_by_users_script(tmp_path, local.suite_users(dict.fromkeys(local.ROLE_OF, "pw")))
    assert made["roles"][local.NO_XCOM_ROLE] == [["can_read", "DAGs"], ["can_read", "DAG Runs"]]
    assert made["roles"][local.NO_RUNS_ROLE] == [["can_read", "DAGs"]]


def test_every_user_the_local_target_logs_in_as_is_made_in_its_role(tmp_path):
    passwords = {user: f"pw-of-{user}" for user in local.ROLE_OF}
    made = made_by_users_script(tmp_path, local.suite_users(passwords))
    assert made["users"] == {user: {"role": role, "password": passwords[user]} for user, role in local.ROLE_OF.items()}
    assert local.ROLE_OF == {
        "admin": "Admin",
        "no-xcom-reader": "ConformanceNoXCom",
        "no-runs-reader": "ConformanceNoRuns",
    }
    assert set(local.SENDER_OF) == set(local.ROLE_OF)


def test_a_user_already_there_gets_this_boots_password_and_keeps_its_role(tmp_path):
    made = made_by_users_script(
        tmp_path,
        {"no-runs-reader": {"role": local.NO_RUNS_ROLE, "password": "new"}},
        existing_users={"no-runs-reader": {"role": local.NO_RUNS_ROLE, "password": "old"}},
    )
    assert made["users"] == {"no-runs-reader": {"role": local.NO_RUNS_ROLE, "password": "new"}}


def test_a_user_in_a_role_nobody_made_is_a_failure_that_names_both(tmp_path):
    done = run_users_script(tmp_path, {"someone": {"role": "NoSuchRole", "password": "pw"}})
    assert done.returncode != 0 and "could not create user someone with role NoSuchRole" in done.stderr
