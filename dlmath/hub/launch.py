"""``dlmath hub``: the course on JupyterHub, for a whole class on one machine.

Every student is an OS user and gets their own JupyterLab from JupyterHub's default
LocalProcessSpawner, so nbgrader knows them by their login. Assignments move through a shared
nbgrader exchange (a folder every user may write to); the formgrader runs as a JupyterHub
service under the grader account, in the course folder, for the instructors and TAs.

``dlmath hub`` checks the machine (:func:`prepare_hub`: every problem is listed, with its fix,
before anything starts), writes the settings of this run into its state folder
(:func:`write_hub_files`) and then replaces itself by ``jupyterhub -f
deploy/hub/jupyterhub_config.py``, the hub's configuration, which reads those settings.

The state folder (default ``/var/lib/dlmath-hub``) holds

``hub/``
    JupyterHub's database, cookie secret and ``settings.json`` (root only);
``student/``
    the Jupyter config folder of every student's server (its ``JUPYTER_CONFIG_DIR``, read-only
    to students; their JupyterLab settings stay in their home): nbgrader's Assignments tab,
    Validate and Submit, and no instructor tools; the course id, the exchange and the grading
    time limits in ``nbgrader_config.py``; and ``custom/custom.css``, with which Validate says
    that only the visible checks ran, as in ``dlmath lab``;
``grader/``
    the Jupyter config of the formgrader service: the exchange, and a ``frame-ancestors`` that
    lets JupyterLab show the formgrader in its frame (JupyterHub >= 4.1 sets ``'none'``).

Hub users are the gradebook's students, which ``dlmath roster import FILE`` put there from the
LMS, so the hub and the gradebook know the same ids; plus the instructors and TAs named on the
command line.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import socket
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlmath.course import CourseError, load_config, repository_root
from dlmath.gradebook import existing_gradebook
from dlmath.student.lab import (
    INLINE_BACKEND,
    INSTRUCTOR_LAB_PLUGINS,
    STUDENT_SERVER_EXTENSIONS,
    VALIDATE_CSS,
    validate_settings,
    write_json,
)

# The dlmath package, which every student's server runs (this file is in its hub/ folder).
PACKAGE = Path(__file__).resolve().parents[1]

DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
DEFAULT_STATE = Path("/var/lib/dlmath-hub")
HUB_CONFIG = repository_root() / "deploy" / "hub" / "jupyterhub_config.py"
PROXY = repository_root() / "deploy" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
SETTINGS_VARIABLE = "DLMATH_HUB_SETTINGS"
# A hub login becomes an OS login and a gradebook id: JupyterHub lowercases names, and Debian's
# useradd takes at most 32 characters, starting with a letter or underscore.
LOGIN_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
# The nbgrader tools a student's JupyterLab shows: the Assignments tab, Validate and Submit.
STUDENT_EXTENSIONS = {**STUDENT_SERVER_EXTENSIONS,
                      "nbgrader.server_extensions.course_list": False}
STUDENT_HIDDEN_PLUGINS = (*INSTRUCTOR_LAB_PLUGINS, "@jupyter/nbgrader:course-list")
# nbgrader's modes for the course's exchange folders (release_assignment.py,
# release_feedback.py), with the sticky bit added to inbound: a student may then rename or
# delete only their own submission folders, even one whose name they learn.
EXCHANGE_FOLDERS = {"outbound": 0o755, "inbound": 0o3733, "feedback": 0o711}
# JupyterHub >= 4.1 forbids framing every single-user page (frame-ancestors 'none'); JupyterLab
# shows the formgrader in a frame of the same server, so the grader's server allows 'self'.
GRADER_FRAME_ANCESTORS = "frame-ancestors 'self'"


class HubError(CourseError):
    """The machine is not ready for the hub; the message lists every problem and its fix."""


@dataclass
class HubSettings:
    """Everything the hub's configuration (deploy/hub/jupyterhub_config.py) reads."""

    course_root: str
    course_id: str
    exchange_root: str
    state_dir: str
    ip: str
    port: int
    grader: str
    students: list[str]
    instructors: list[str] = field(default_factory=list)
    tas: list[str] = field(default_factory=list)
    python_prefix: str = sys.prefix
    proxy: str = str(PROXY)
    hub_port: int = 0
    proxy_api_port: int = 0
    service_port: int = 0

    @property
    def service_name(self) -> str:
        """The formgrader service's name, in its URL ``/services/<name>/``: the course id."""
        return self.course_id

    def folder(self, name: str) -> Path:
        """``hub``, ``student`` or ``grader`` in the state folder."""
        return Path(self.state_dir) / name


def roster_students(course_root: Path) -> list[str]:
    """The gradebook's student ids (filled by ``dlmath roster import``), sorted."""
    from nbgrader.api import Gradebook

    url = existing_gradebook(course_root)
    if url is None:
        return []
    with Gradebook(url) as gradebook:
        return sorted(student.id for student in gradebook.students)


def uid_min() -> int:
    """The first uid of a person's account (``UID_MIN`` in /etc/login.defs, default 1000)."""
    try:
        text = Path("/etc/login.defs").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 1000
    found = re.search(r"^\s*UID_MIN\s+(\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else 1000


def blocked_for_others(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (inclusive) that users other than its owner and
    group cannot enter, or None if they can reach it."""
    current = Path("/")
    for part in path.resolve().parts[1:]:
        current = current / part
        if current.is_dir() and not current.stat().st_mode & stat.S_IXOTH:
            return current
    return None


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port on ``ip`` that is free right now."""
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def port_problem(ip: str, port: int) -> str | None:
    """Why the hub cannot listen on ``ip:port``, or None."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as error:
            return (f"cannot listen on {ip}:{port} ({error.strerror}): another program, or a "
                    f"hub already running, uses it; stop it or pass --port N")
    return None


def _account(name: str, role: str, problems: list[str]) -> pwd.struct_passwd | None:
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        problems.append(f"the {role} {name!r} has no OS account on this machine: create it "
                        f"(useradd --create-home {name}) or name another")
        return None
    if account.pw_uid < uid_min():
        problems.append(f"the {role} {name!r} is a system account (uid {account.pw_uid}); "
                        "hub users must be people's accounts")
        return None
    return account


def _check_students(students: list[str], staff: set[str], problems: list[str]) -> None:
    if not students:
        problems.append("the gradebook has no students: import the class first with "
                        "`dlmath roster import FILE` (hub users are the roster's students)")
        return
    bad_names = [s for s in students if not LOGIN_NAME.fullmatch(s)]
    if bad_names:
        problems.append(
            "these roster ids cannot be login names (lower-case letters, digits, . _ -, at most "
            f"32, starting with a letter): {', '.join(bad_names)}. Import the roster again with "
            "--id-column naming the LMS's login column (Canvas: 'SIS Login ID', Moodle: "
            "'Username')")
    missing, system, open_homes = [], [], []
    minimum = uid_min()
    for student in students:
        if student in bad_names:
            continue
        try:
            account = pwd.getpwnam(student)
        except KeyError:
            missing.append(student)
            continue
        if account.pw_uid < minimum:
            system.append(f"{student} (uid {account.pw_uid})")
        home = Path(account.pw_dir)
        if home.is_dir() and home.stat().st_mode & (stat.S_IROTH | stat.S_IXOTH):
            open_homes.append(str(home))
    if open_homes:
        problems.append(
            "students could read each other's work (and the secrets that name their feedback) "
            f"in these home folders, open to every user: {', '.join(open_homes)}. Close them: "
            "chmod 700 on each (Debian's useradd makes homes 0755: set HOME_MODE 0700 in "
            "/etc/login.defs for new accounts)")
    if missing:
        problems.append(
            f"{len(missing)} roster students have no OS account on this machine: "
            f"{', '.join(missing)}. Create them (for each: useradd --create-home NAME, and a "
            "password with chpasswd) so that the hub can run their servers as them")
    if system:
        problems.append("these roster ids are system accounts, never hub users: "
                        + ", ".join(system))
    both = sorted(staff & set(students))
    if both:
        problems.append(f"{', '.join(both)} are in the roster and on the course's staff; "
                        "a grader must not be a student of the course")


def _check_python(problems: list[str]) -> None:
    """Every student's server runs this environment's Python and the dlmath package."""
    needed = [Path(sys.prefix), Path(os.path.realpath(sys.executable)).parent,
              Path(sys.base_prefix), PACKAGE]
    for path in needed:
        blocked = blocked_for_others(path)
        if blocked:
            problems.append(
                f"students cannot run the course's Python: {blocked} (on the way to {path}) is "
                "closed to other users. Put the course where every user may enter (e.g. "
                f"/srv/dlmath) and run bin/setup --hub there, or chmod o+x {blocked}")
            return


def _check_course(course_root: Path, grader: pwd.struct_passwd, problems: list[str]) -> None:
    """The grader owns the course; students reach nothing in it but the Python environment and
    the dlmath package (not source/, the gradebook, submissions or hidden tests)."""
    if course_root.stat().st_uid != grader.pw_uid:
        problems.append(f"the course folder {course_root} belongs to "
                        f"{pwd.getpwuid(course_root.stat().st_uid).pw_name}, not the grader "
                        f"account {grader.pw_name} that grades in it: chown -R "
                        f"{grader.pw_name}: {course_root}")
    shared = {Path(sys.prefix).resolve(), PACKAGE.resolve()}
    if course_root.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH):
        problems.append(f"every user can list or change the course folder {course_root}: "
                        f"chmod o-rw {course_root} (o+x lets students reach the Python "
                        "environment in it)")
    if blocked_for_others(course_root):
        return  # nothing in it is reachable
    open_entries = []
    for entry in sorted(course_root.iterdir()):
        if entry.resolve() in shared or entry.is_symlink():
            continue
        mode = entry.lstat().st_mode
        if mode & (stat.S_IROTH | stat.S_IWOTH) or (entry.is_dir() and mode & stat.S_IXOTH):
            open_entries.append(entry.name)
    if open_entries:
        problems.append(
            f"students could read these in the course folder (source/ and the gradebook hold "
            f"solutions, hidden tests and grades): {', '.join(open_entries)}. Close them: "
            f"cd {course_root} && chmod -R o-rwx {' '.join(open_entries)}")


def _check_exchange(exchange: Path, course_id: str, grader: pwd.struct_passwd,
                    students: list[str], problems: list[str]) -> None:
    fix = f"install -d -m 1777 {exchange}"
    if not exchange.is_dir():
        what = "is not a folder" if exchange.exists() else "does not exist"
        problems.append(f"the exchange root {exchange} {what}: create it ({fix}); if it "
                        "should be a shared volume, mount that first")
        return
    mode = exchange.stat().st_mode
    if mode & 0o003 != 0o003 or not os.access(exchange, os.W_OK):
        problems.append(f"students cannot write to the exchange root {exchange} (mode "
                        f"{stat.filemode(mode)}{', read-only' if mode & 0o003 == 0o003 else ''})"
                        f": chmod 1777 {exchange}")
    elif not mode & stat.S_ISVTX:
        problems.append(f"any student could rename or delete the course in the exchange root "
                        f"{exchange} (no sticky bit): chmod +t {exchange}")
    course = exchange / course_id
    for folder in (course, *(course / name for name in EXCHANGE_FOLDERS)):
        if folder.exists() and folder.lstat().st_uid != grader.pw_uid:
            owner = pwd.getpwuid(folder.lstat().st_uid).pw_name
            problems.append(f"{folder} belongs to {owner}, not the grader account "
                            f"{grader.pw_name} (a student can make it before the course does): "
                            f"move it away (mv {folder} {folder}.{owner}) and start again")
    group = grp.getgrgid(grader.pw_gid)
    members = sorted({*group.gr_mem} & set(students)
                     | {s for s in students if _primary_gid(s) == grader.pw_gid})
    if members:
        problems.append(f"students {', '.join(members)} are in the grader's group "
                        f"{group.gr_name}, which reads every submission: give the grader a "
                        "group of its own")


def _primary_gid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_gid
    except KeyError:
        return None


def require_root() -> None:
    """Raise HubError unless this process is root (checked before anything else: a user may
    not even see the course folder)."""
    if os.geteuid() != 0:
        raise HubError("the hub must start as root: it runs each student's server as that "
                       "student's OS user and checks passwords with PAM. Run it with sudo: "
                       f"sudo {sys.prefix}/bin/dlmath hub ...")


def prepare_hub(course_root: Path, *, exchange: Path, state_dir: Path, ip: str, port: int,
                grader: str | None, instructors: list[str], tas: list[str]) -> HubSettings:
    """Check that the hub can serve the course on this machine; return its settings.

    Raises HubError listing every problem found, each with its fix. ``grader`` defaults to the
    course folder's owner.
    """
    require_root()
    problems: list[str] = []
    if not PROXY.is_file():
        problems.append(f"JupyterHub's proxy is not installed ({PROXY}): run bin/setup --hub")
    try:
        import jupyterhub  # noqa: F401 - only checks that it is installed
    except ImportError:
        problems.append("JupyterHub is not installed in this environment: run bin/setup --hub")
    if problem := port_problem(ip, port):
        problems.append(problem)

    course_id = load_config(course_root).CourseDirectory.course_id or "dlmath"
    grader = grader or pwd.getpwuid(course_root.stat().st_uid).pw_name
    grader_account = _account(grader, "grader account", problems)
    staff = [(name, "instructor") for name in instructors] + [(name, "TA") for name in tas]
    for name, role in staff:
        _account(name, role, problems)
    students = roster_students(course_root)
    _check_students(students, {grader, *instructors, *tas}, problems)
    _check_python(problems)
    if grader_account:
        _check_course(course_root, grader_account, problems)
        _check_exchange(exchange, course_id, grader_account, students, problems)
    if state_dir.exists() and state_dir.stat().st_uid != 0:
        problems.append(f"the state folder {state_dir} must belong to root (it holds the hub's "
                        "secrets); pass another --state-dir")
    if problems:
        raise HubError("the hub cannot start:\n" + "\n".join(f"  - {p}" for p in problems))
    return HubSettings(
        course_root=str(course_root), course_id=course_id, exchange_root=str(exchange),
        state_dir=str(state_dir), ip=ip, port=port, grader=grader, students=students,
        instructors=list(instructors), tas=list(tas), hub_port=free_port(),
        proxy_api_port=free_port(), service_port=free_port())


def student_nbgrader_config(settings: HubSettings) -> str:
    """The text of the students' nbgrader_config.py."""
    course = load_config(Path(settings.course_root))
    return "\n".join([
        "# Written by `dlmath hub` at every start (dlmath/hub/launch.py); edits here are lost.",
        "c = get_config()  # noqa: F821 - provided by nbgrader's config loader",
        f"c.CourseDirectory.course_id = {settings.course_id!r}",
        f"c.Exchange.root = {settings.exchange_root!r}",
        "# Fetched assignments go to ~/<course>/<assignment>, so two courses never mix.",
        "c.Exchange.path_includes_course = True",
        "# Submission folders end in a random string (nbgrader's default, relied on): the",
        "# inbound folder cannot be listed, so no student can find another's submission; and",
        "# PrivateSubmit makes each readable by the grader's group only (dlmath/hub/exchange.py).",
        "c.ExchangeSubmit.add_random_string = True",
        "c.ExchangeFactory.submit = 'dlmath.hub.exchange.PrivateSubmit'",
        *validate_settings(course),
    ]) + "\n"


def write_hub_files(settings: HubSettings) -> Path:
    """Write the settings and the students' and grader's Jupyter config into the state folder,
    and give the course its exchange folders; return the settings file."""
    hub, student, grader_dir = (settings.folder(n) for n in ("hub", "student", "grader"))
    Path(settings.state_dir).mkdir(mode=0o755, parents=True, exist_ok=True)
    hub.mkdir(mode=0o700, exist_ok=True)
    os.chmod(hub, 0o700)
    for folder in (student, grader_dir):
        folder.mkdir(mode=0o755, exist_ok=True)
    write_json(student / "jupyter_server_config.json",
               {"ServerApp": {"jpserver_extensions": STUDENT_EXTENSIONS},
                "LabApp": {"custom_css": True}})
    (student / "custom").mkdir(exist_ok=True)
    (student / "custom" / "custom.css").write_text(VALIDATE_CSS, encoding="utf-8")
    write_json(student / "labconfig" / "page_config.json",
               {"disabledExtensions": {name: True for name in STUDENT_HIDDEN_PLUGINS}})
    (student / "nbgrader_config.py").write_text(student_nbgrader_config(settings),
                                                encoding="utf-8")
    write_json(grader_dir / "jupyter_server_config.json", {"ServerApp": {"tornado_settings": {
        "headers": {"Content-Security-Policy": GRADER_FRAME_ANCESTORS}}}})
    (grader_dir / "nbgrader_config.py").write_text(
        "# Written by `dlmath hub` at every start; the course's own settings are in "
        f"{settings.course_root}/nbgrader_config.py.\n"
        "c = get_config()  # noqa: F821 - provided by nbgrader's config loader\n"
        f"c.Exchange.root = {settings.exchange_root!r}\n", encoding="utf-8")
    for path in (*student.rglob("*"), *grader_dir.rglob("*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    ensure_exchange_folders(settings)
    settings_file = hub / "settings.json"
    # JupyterLab reads custom CSS from the config folder only (JUPYTER_CONFIG_DIR); the hub's
    # configuration keeps each student's own JupyterLab settings in their home.
    data = {**asdict(settings),
            "student_environment": {**server_environment(student),
                                    "JUPYTER_CONFIG_DIR": str(student)},
            "grader_environment": {**server_environment(grader_dir),
                                   "JUPYTERHUB_DEFAULT_URL": "/lab"}}
    settings_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return settings_file


def server_environment(jupyter_config: Path) -> dict[str, str]:
    """The environment of a student's (or the grader's) Jupyter server: the course's Python
    first on the PATH (for kernels and nbgrader's helpers), ``jupyter_config`` added to
    Jupyter's config path, and plots drawn inline (the hub's own environment may say Agg)."""
    return {"JUPYTER_CONFIG_PATH": str(jupyter_config), "MPLBACKEND": INLINE_BACKEND,
            "PATH": os.pathsep.join([str(Path(sys.prefix) / "bin"), "/usr/local/bin",
                                     "/usr/bin", "/bin"])}


def ensure_exchange_folders(settings: HubSettings) -> None:
    """Create the course's folders in the exchange as nbgrader's release would, owned by the
    grader, before any student could; add the sticky bit to an existing inbound folder."""
    grader = pwd.getpwnam(settings.grader)
    course = Path(settings.exchange_root) / settings.course_id
    for folder, mode in ((course, 0o755), *((course / n, m) for n, m in EXCHANGE_FOLDERS.items())):
        if not folder.exists():
            folder.mkdir()
            os.chown(folder, grader.pw_uid, grader.pw_gid)
            os.chmod(folder, mode)
    inbound = course / "inbound"
    os.chmod(inbound, inbound.stat().st_mode | stat.S_ISVTX | stat.S_ISGID)


def hub_environment(settings_file: Path) -> dict[str, str]:
    """The environment JupyterHub runs in: this one, with the settings file named."""
    env = dict(os.environ)
    env[SETTINGS_VARIABLE] = str(settings_file)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def hub_command() -> list[str]:
    """The command line that starts JupyterHub with the course's configuration."""
    return [str(Path(sys.prefix) / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)]


def start_hub(settings: HubSettings) -> None:
    """Write the hub's files and replace this process by JupyterHub (does not return)."""
    settings_file = write_hub_files(settings)
    command = hub_command()
    env = hub_environment(settings_file)
    os.chdir(settings.folder("hub"))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
