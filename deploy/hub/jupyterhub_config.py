"""JupyterHub configuration of the course, on one machine (README, "A class on JupyterHub").

Start it with `sudo .venv/bin/dlmath hub`: that command checks the machine, writes the settings of
the run (course, exchange, people, ports) to <state>/hub/settings.json and starts
`jupyterhub -f` this file, which reads them. Everything below is standard JupyterHub; to change
something for your site (another authenticator, say), add a line at the end.
"""

import json
import os
import pwd
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub's config loader
settings = json.loads(Path(os.environ["DLMATH_HUB_SETTINGS"]).read_text(encoding="utf-8"))
state = Path(settings["state_dir"])
python = Path(settings["python_prefix"]) / "bin"


def variant_key(spawner) -> str:  # noqa: ANN001 - JupyterHub's spawner
    """The user's per-student variant key (dlmath/variants), from the course secret, which only
    the hub (root) and the grader read; a missing secret fails the spawn with the fix."""
    from dlmath.variants.secret import course_key

    return course_key(Path(settings["course_root"]), spawner.user.name)


def in_home(*parts: str):  # noqa: ANN201 - JupyterHub calls it with the spawner
    """A Spawner.environment value: ``parts`` under the spawned user's home folder."""
    return lambda spawner: os.path.join(pwd.getpwnam(spawner.user.name).pw_dir, *parts)


# --- Where it listens --------------------------------------------------------------------------
# The proxy takes the public address; the hub's API, the proxy's API and the formgrader service
# listen on loopback, on ports `dlmath hub` found free.
c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "hub" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "hub" / "jupyterhub_cookie_secret")

# --- Who may log in ----------------------------------------------------------------------------
# The roster's students (the gradebook's, from `dlmath roster import`), the instructors and the
# TAs, each with their OS account's password (PAM).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(settings["students"] + settings["instructors"]
                                    + settings["tas"])

# --- Every user's JupyterLab -------------------------------------------------------------------
# JupyterHub's default spawner: each server runs as its user's OS account, in their home folder,
# from the course's Python environment, so nbgrader knows the student by their login and the
# exchange's permissions hold. The config in <state>/student shows nbgrader's Assignments tab,
# Validate and Submit and no instructor tool; a user's own ~/.jupyter cannot change that.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(python / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    **settings["student_environment"],
    # The Jupyter config folder is the course's (read-only to students); JupyterLab's settings and
    # workspaces, which it would keep there, stay in each student's home.
    "JUPYTERLAB_SETTINGS_DIR": in_home(".jupyter", "lab", "user-settings"),
    "JUPYTERLAB_WORKSPACES_DIR": in_home(".jupyter", "lab", "workspaces"),
    # Whose numbers the notebooks compute with: the student's, from their login.
    "DLMATH_VARIANT_KEY": variant_key,
}
c.Spawner.disable_user_config = True
# A two-core machine starting many servers at once at the start of a class.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# --- The formgrader, a service under the grader account ----------------------------------------
# JupyterLab as the grader, in the course folder (so the course's nbgrader_config.py applies),
# at /services/<course>/; the instructors and TAs open it from the hub's Services menu.
service = settings["course_id"]
c.JupyterHub.services = [{
    "name": service,
    "display": True,
    "url": f"http://127.0.0.1:{settings['service_port']}",
    "command": [str(python / "jupyterhub-singleuser"),
                f"--ServerApp.root_dir={settings['course_root']}"],
    "user": settings["grader"],
    "cwd": settings["course_root"],
    "environment": settings["grader_environment"],
    "oauth_no_confirm": True,
}]

# --- Roles -------------------------------------------------------------------------------------
# Both lists are exact: JupyterHub removes a role from whoever is no longer named at a restart.
# TAs grade; instructors also see the hub's admin page and may start and stop servers, but do not
# get into students' servers (on one domain, a page in a student's server could then frame the
# formgrader).
c.JupyterHub.load_roles = [
    {"name": "teaching-assistant", "description": f"Grades {service} in its formgrader",
     "users": settings["tas"], "scopes": [f"access:services!service={service}"]},
    {"name": "instructor", "description": f"Teaches {service}: its formgrader and the hub",
     "users": settings["instructors"],
     "scopes": [f"access:services!service={service}", "admin-ui", "list:users", "read:users",
                "admin:servers"]},
]
