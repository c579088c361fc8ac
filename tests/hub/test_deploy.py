"""The course on Kubernetes (deploy/kubernetes/): the files load, use only keys the Zero to
JupyterHub chart (4.x) reads, and fit together (the same volume, path, service and settings as
the one-machine hub); the formgrader's start-up script that makes the exchange's folders runs
here for real. No cluster runs here; this is what can be checked without one."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from traitlets.config import Config

from dlmath.course import repository_root
from dlmath.hub.launch import (
    EXCHANGE_FOLDERS,
    GRADER_FRAME_ANCESTORS,
    STUDENT_EXTENSIONS,
    STUDENT_HIDDEN_PLUGINS,
    HubSettings,
    student_nbgrader_config,
)
from dlmath.variants.derive import student_key

KUBERNETES = repository_root() / "deploy" / "kubernetes"
# The chart's values, by the keys of its values.yaml (jupyterhub/values.yaml of
# zero-to-jupyterhub-k8s 4.x); its schema (values.schema.yaml, additionalProperties: false)
# refuses any other key at these levels.
CHART_KEYS = {
    "": {"fullnameOverride", "nameOverride", "enabled", "custom", "imagePullSecret",
         "imagePullSecrets", "hub", "rbac", "proxy", "singleuser", "scheduling", "ingress",
         "httpRoute", "prePuller", "cull", "debug", "global"},
    "hub": {"revisionHistoryLimit", "config", "service", "baseUrl", "cookieSecret",
            "initContainers", "nodeSelector", "tolerations", "concurrentSpawnLimit",
            "consecutiveFailureLimit", "activeServerLimit", "deploymentStrategy", "db",
            "fsGid", "labels", "annotations", "command", "args", "extraConfig", "extraFiles",
            "extraEnv",
            "extraContainers", "extraVolumes", "extraVolumeMounts", "image", "resources",
            "podSecurityContext", "containerSecurityContext", "lifecycle", "loadRoles",
            "services", "pdb", "networkPolicy", "allowNamedServers", "namedServerLimitPerUser",
            "authenticatePrometheus", "redirectToServer", "shutdownOnLogout", "templatePaths",
            "templateVars", "livenessProbe", "readinessProbe", "existingSecret",
            "serviceAccount", "extraPodSpec"},
    "singleuser": {"podNameTemplate", "extraTolerations", "nodeSelector", "extraNodeAffinity",
                   "extraPodAffinity", "extraPodAntiAffinity", "networkTools", "cloudMetadata",
                   "networkPolicy", "events", "extraAnnotations", "extraLabels", "extraFiles",
                   "extraEnv", "lifecycleHooks", "initContainers", "extraContainers",
                   "allowPrivilegeEscalation", "uid", "fsGid", "serviceAccountName", "storage",
                   "image", "startTimeout", "cpu", "memory", "extraResource", "cmd",
                   "defaultUrl", "extraPodConfig", "profileList"},
    "singleuser.storage": {"type", "extraLabels", "extraVolumes", "extraVolumeMounts", "static",
                           "capacity", "homeMountPath", "dynamic"},
    "singleuser.image": {"name", "tag", "pullPolicy", "pullSecrets"},
    "cull": {"enabled", "users", "adminUsers", "removeNamedServers", "timeout", "every",
             "concurrency", "maxAge"},
}
EXCHANGE_ROOT = "/srv/nbgrader/exchange"


def load_all(name: str) -> list[dict]:
    """Every YAML document of deploy/kubernetes/<name>."""
    return [d for d in yaml.safe_load_all((KUBERNETES / name).read_text()) if d is not None]


@pytest.fixture(scope="module")
def values() -> dict:
    (loaded,) = load_all("values.yaml")
    return loaded


def at(values: dict, path: str) -> dict:
    """The mapping at dotted ``path`` ("" for the top) of ``values``."""
    for key in filter(None, path.split(".")):
        values = values[key]
    return values


@pytest.mark.parametrize("level", sorted(CHART_KEYS))
def test_values_use_only_keys_the_chart_reads(values: dict, level: str) -> None:
    unknown = set(at(values, level)) - CHART_KEYS[level]
    assert not unknown, f"keys the chart does not know under {level or 'the top'}: {unknown}"


def test_the_single_user_image_and_the_exchange_volume(values: dict) -> None:
    singleuser = values["singleuser"]
    assert singleuser["image"]["name"] and singleuser["image"]["tag"]
    (pvc,) = load_all("exchange-pvc.yaml")
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    volumes = {v["name"]: v for v in singleuser["storage"]["extraVolumes"]}
    mounts = {m["name"]: m for m in singleuser["storage"]["extraVolumeMounts"]}
    exchange = next(name for name, v in volumes.items()
                    if v.get("persistentVolumeClaim", {}).get("claimName")
                    == pvc["metadata"]["name"])
    assert mounts[exchange]["mountPath"] == EXCHANGE_ROOT
    assert not mounts[exchange].get("readOnly")


def config_of(text: str) -> Config:
    """The configuration an nbgrader_config.py's ``text`` makes."""
    config = Config()
    exec(compile(text, "nbgrader_config.py", "exec"), {"get_config": lambda: config})
    return config


def test_students_get_the_one_machine_hubs_settings(values: dict) -> None:
    files = values["singleuser"]["extraFiles"]
    nbgrader = next(f["stringData"] for f in files.values()
                    if f["mountPath"].endswith("nbgrader_config.py"))
    # Exactly what `dlmath hub` gives a student's server for this course (course id, exchange,
    # PrivateSubmit, the course's time limit for Validate), at the volume's mount point.
    one_machine = HubSettings(course_root=str(repository_root()), course_id="dlmath",
                              exchange_root=EXCHANGE_ROOT, state_dir="", ip="", port=0,
                              grader="", students=[])
    assert config_of(nbgrader) == config_of(student_nbgrader_config(one_machine))
    server = next(f["data"] for f in files.values()
                  if f["mountPath"].endswith("jupyter_server_config.json"))
    assert server["ServerApp"]["jpserver_extensions"] == STUDENT_EXTENSIONS
    page = next(f["data"] for f in files.values()
                if f["mountPath"].endswith("labconfig/page_config.json"))
    assert set(page["disabledExtensions"]) == set(STUDENT_HIDDEN_PLUGINS)


def test_each_student_runs_as_their_own_uid(values: dict) -> None:
    (config,) = values["hub"]["extraConfig"].values()
    compile(config, "extraConfig", "exec")
    assert "c.Authenticator.allowed_users" in config
    assert re.search(r'"NB_UID": lambda spawner: str\(student_uid\(spawner\)\)', config)
    assert re.search(r'"NB_USER": lambda spawner: spawner.user.name', config)
    # The image's start script can become NB_USER with NB_UID only when it starts as root.
    assert values["singleuser"]["uid"] == 0
    mounts = {m["mountPath"] for m in values["hub"]["extraVolumeMounts"]}
    assert any(path in config for path in mounts), "the roster's mount is not read"


def test_students_kernels_get_their_variant_key_from_the_course_secret(values: dict,
                                                                     tmp_path: Path) -> None:
    """The hub's extraConfig, run with its mounts in a temp folder: each student's
    DLMATH_VARIANT_KEY is the key dlmath computes from the same secret (the hub's image has no
    dlmath, so the snippet restates the formula)."""
    (snippet,) = values["hub"]["extraConfig"].values()
    mounts = {m["name"]: m["mountPath"] for m in values["hub"]["extraVolumeMounts"]}
    assert {m["name"] for m in values["hub"]["extraVolumes"]} == set(mounts)
    secret = bytes(range(32))
    for name, mount in sorted(mounts.items(), key=lambda item: -len(item[1])):  # longest first
        folder = tmp_path / name
        folder.mkdir()
        snippet = snippet.replace(mount, str(folder))
    (tmp_path / "roster" / "roster.json").write_text('{"s2600001": 20001}')
    (tmp_path / "course-secret" / "course_secret").write_text(secret.hex() + "\n")
    config = Config()
    exec(compile(snippet, "extraConfig", "exec"), {"c": config})  # noqa: S102 - our own file
    environment = config.KubeSpawner.environment.get_value({})
    for login in ("s2600001", "teach", "étudiant"):
        spawner = SimpleNamespace(user=SimpleNamespace(name=login))
        assert environment["DLMATH_VARIANT_KEY"](spawner) == student_key(secret, login)
    # The formgrader grades with the same secret, mounted from the same Kubernetes secret.
    grader = config_of(formgrader_config_map()["nbgrader_config.py"])
    (volume,) = [v for v in values["hub"]["extraVolumes"] if "secret" in v]
    spec = pod_spec({(d["kind"], d["metadata"]["name"]): d for d in load_all("formgrader.yaml")})
    (grader_volume,) = [v for v in spec["volumes"] if "secret" in v]
    assert grader_volume["secret"]["secretName"] == volume["secret"]["secretName"]
    (container,) = spec["containers"]
    mount = next(m["mountPath"] for m in container["volumeMounts"]
                 if m["name"] == grader_volume["name"])
    assert grader.StudentVariants.secret_file == f"{mount}/course_secret"


def formgrader_config_map() -> dict[str, str]:
    """The data of formgrader.yaml's ConfigMap of the grader's Jupyter settings."""
    return next(d["data"] for d in load_all("formgrader.yaml") if d["kind"] == "ConfigMap")


@pytest.fixture(scope="module")
def formgrader() -> dict[tuple[str, str], dict]:
    """formgrader.yaml's documents by (kind, name)."""
    return {(d["kind"], d["metadata"]["name"]): d for d in load_all("formgrader.yaml")}


def pod_spec(formgrader: dict) -> dict:
    """The formgrader Deployment's pod spec."""
    return formgrader["Deployment", "dlmath-formgrader"]["spec"]["template"]["spec"]


def test_the_formgrader_is_a_service_with_both_volumes(values: dict, formgrader: dict) -> None:
    services = values["hub"]["services"]
    assert set(services) == {"dlmath"}
    documents = formgrader
    deployment = pod_spec(formgrader)
    service = documents["Service", "dlmath-formgrader"]
    port = service["spec"]["ports"][0]["port"]
    assert services["dlmath"]["url"] == f"http://dlmath-formgrader:{port}"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in deployment["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"dlmath-exchange", "dlmath-course"}
    (container,) = deployment["containers"]
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {EXCHANGE_ROOT}
    env = {e["name"]: e for e in container["env"]}
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == "/services/dlmath/"
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == \
        "hub.services.dlmath.apiToken"
    assert deployment["securityContext"]["runAsUser"] >= 1000
    grader = documents["ConfigMap", "dlmath-grader-config"]["data"]
    assert GRADER_FRAME_ANCESTORS in grader["jupyter_server_config.json"]


def exchange_script(formgrader: dict) -> tuple[str, dict[str, str], int]:
    """The formgrader's init container that makes the exchange's folders: its shell script,
    environment, and the grader's uid (the formgrader container's)."""
    spec = pod_spec(formgrader)
    (init,) = spec["initContainers"]
    assert init["command"][:2] == ["sh", "-c"]
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env["EXCHANGE"] == EXCHANGE_ROOT
    assert {m["mountPath"] for m in init["volumeMounts"]} == {EXCHANGE_ROOT}
    return init["command"][2], env, spec["securityContext"]["runAsUser"]


@pytest.fixture
def root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("makes folders owned by the grader's uid: needs root (CI runs as root)")


def test_the_formgrader_makes_the_exchange_as_on_one_machine(formgrader: dict, tmp_path: Path,
                                                             root_only: None) -> None:
    script, env, grader_uid = exchange_script(formgrader)
    assert int(env["GRADER_UID"]) == grader_uid
    exchange = tmp_path / "exchange"
    run = {**env, "EXCHANGE": str(exchange), "PATH": os.environ["PATH"]}
    for _ in range(2):  # every start of the pod; the second finds everything in place
        subprocess.run(["sh", "-c", script], env=run, check=True)
        assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
        course = exchange / "dlmath"
        assert (stat.S_IMODE(course.stat().st_mode), course.stat().st_uid) == (0o755, grader_uid)
        for name, mode in EXCHANGE_FOLDERS.items():
            folder = course / name
            assert (stat.S_IMODE(folder.stat().st_mode), folder.stat().st_uid,
                    folder.stat().st_gid) == (mode, grader_uid, grader_uid), name


def test_a_folder_a_student_made_first_stops_the_formgrader(formgrader: dict, tmp_path: Path,
                                                            root_only: None) -> None:
    script, env, grader_uid = exchange_script(formgrader)
    # Before the formgrader's first start, a student makes the course's folder and an inbound
    # folder they can list (the exchange root is open to all).
    planted = tmp_path / "exchange" / "dlmath"
    (planted / "inbound").mkdir(parents=True)
    (planted / "inbound" / "bait").write_text("a student's")
    for path in (planted, planted / "inbound"):
        os.chown(path, grader_uid + 1, grader_uid + 1)
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                            env={**env, "EXCHANGE": str(tmp_path / "exchange"),
                                 "PATH": os.environ["PATH"]})
    assert result.returncode == 1
    assert f"{planted} belongs to uid {grader_uid + 1}, not the grader" in result.stderr
    assert (planted / "inbound").stat().st_uid == grader_uid + 1
    assert (planted / "inbound" / "bait").exists()


def test_roles_match_the_one_machine_hub(values: dict) -> None:
    roles = values["hub"]["loadRoles"]
    assert set(roles) == {"instructor", "teaching-assistant"}
    assert all("access:services!service=dlmath" in r["scopes"] for r in roles.values())
    assert not any(s.startswith("access:servers") for r in roles.values() for s in r["scopes"])

