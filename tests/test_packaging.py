"""The deployment files as shipped: docker-compose.yml (both profiles), the
Dockerfile, and the Mosquitto and nginx configurations of the `scale` profile."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from brokers import MOSQUITTO_PASSWD, Mosquitto, accepts, free_port

from atlas.transport import BrokerAddress, Session, TransportError

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
DOCKER_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"
#: The passwords docker-compose.yml insists on (any value validates).
PASSWORDS = {f"ATLAS_{role}_PASSWORD": f"{role.lower()}-pw"
             for role in ("DAEMON", "BRIDGE", "CLOCK", "TIMER", "LIGHTS", "HELP")}


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    if not os.access(DOCKER_COMPOSE, os.X_OK):
        # Never a skip: CI installs it (Debian's docker-compose needs no engine).
        raise RuntimeError(f"docker-compose not found at {DOCKER_COMPOSE} "
                           "(apt-get install docker-compose)")
    return subprocess.run([DOCKER_COMPOSE, "-f", str(ROOT / "docker-compose.yml"), *args],
                          cwd=ROOT, env={**os.environ, **PASSWORDS},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("profile", [[], ["--profile", "scale"]], ids=["default", "scale"])
def test_docker_compose_accepts_the_file(profile: list[str]) -> None:
    done = compose(*profile, "config", "-q")
    assert done.returncode == 0, done.stderr


def test_the_scale_profile_is_a_stack_of_its_own() -> None:
    done = compose("--profile", "scale", "config")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    scale = {name for name, service in services.items()
             if "scale" in service.get("profiles", ())}
    assert {"redis", "mosquitto-5", "daemon-1", "daemon-2", "bridge-1", "bridge-2",
            "proxy"} <= scale
    for name in scale:
        # Nothing of the default stack: its own broker, Redis and data.
        assert set(services[name].get("depends_on", ())) <= scale, name
    # `up proxy` starts the whole stack.
    assert set(services["proxy"]["depends_on"]) == scale - {"proxy", "redis", "mosquitto-5"}
    for name in ("daemon-1", "daemon-2", "bridge-1", "bridge-2"):
        environment = services[name]["environment"]
        assert environment["ATLAS_STATE"] == "redis://redis:6379/0"
        assert environment["ATLAS_BROKER"].endswith("@mosquitto-5:1883?protocol=5")


def test_the_dockerfile_installs_dependencies_before_the_code_and_drops_root() -> None:
    lines = [line.split() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line and not line[0].isspace() and not line.startswith("#")]
    instructions = [(words[0], words[1:]) for words in lines]
    copies = [args for op, args in instructions if op == "COPY"]
    assert copies[0] == ["pyproject.toml", "./"]     # the dependency layer's only input
    assert instructions[0] == ("FROM", ["python:3.11-slim"])
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] != ["root"]
    kept = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().split()
            if line.startswith("!")}
    for args in copies:             # what the image copies is in the build context
        assert args[0].rstrip("/") in kept, args


def test_the_scale_mosquitto_config_as_shipped(tmp_path: Path) -> None:
    passwords = tmp_path / "mosquitto.passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(passwords), "daemon", "daemon-pw"],
                   check=True, capture_output=True)
    (tmp_path / "data").mkdir()
    shipped = (CONFIG / "mosquitto-scale.conf").read_text()

    def conf(port: int) -> str:
        # Only the deployment paths and the port change.
        text = shipped.replace("listener 1883\n", f"listener {port} 127.0.0.1\n")
        text = text.replace("/mosquitto/config/mosquitto.passwd", str(passwords))
        text = text.replace("/mosquitto/config/mosquitto.acl", str(CONFIG / "mosquitto.acl"))
        text = text.replace("/mosquitto/data/", f"{tmp_path / 'data'}/")
        return text + ("user root\n" if os.geteuid() == 0 else "")

    with Mosquitto(tmp_path, conf=conf) as broker:
        for version in ("5", "4"):
            daemon = BrokerAddress.parse(
                f"mqtt://daemon:daemon-pw@127.0.0.1:{broker.port}?protocol={version}")
            assert asyncio.run(connects(daemon))
        stranger = BrokerAddress.parse(f"mqtt://127.0.0.1:{broker.port}?protocol=5")
        assert not asyncio.run(connects(stranger))


async def connects(address: BrokerAddress) -> bool:
    try:
        async with Session(address, "probe"):
            return True
    except TransportError:
        return False


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_conf(folder: Path, port: int, upstreams: list[int]) -> Path:
    """config/nginx-scale.conf as shipped, in a minimal nginx.conf; only the bridges'
    addresses and the port change."""
    shipped = (CONFIG / "nginx-scale.conf").read_text()
    shipped = shipped.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    for name, upstream in zip(("bridge-1", "bridge-2"), upstreams, strict=True):
        shipped = shipped.replace(f"server {name}:8080", f"server 127.0.0.1:{upstream}")
    (folder / "scale.conf").write_text(shipped)
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    path = folder / "nginx.conf"
    path.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {folder / 'nginx.pid'};\nerror_log stderr warn;\n"
        f"events {{}}\nhttp {{\n    access_log off;\n{temp}\n"
        f"    include {folder / 'scale.conf'};\n}}\n")
    return path


async def test_the_proxy_config_balances_websockets_over_the_bridges(tmp_path: Path) -> None:
    """nginx with config/nginx-scale.conf in front of two WebSocket servers: each
    socket is upgraded and served whole by one of them, and both get some."""
    import websockets

    if not os.access(NGINX, os.X_OK):
        raise RuntimeError(f"nginx not found at {NGINX} (apt-get install nginx-light)")

    async def bridge(name: str, socket: websockets.ServerConnection) -> None:
        async for text in socket:
            await socket.send(f"{name}:{text}")

    servers = [await websockets.serve(lambda s, n=name: bridge(n, s), "127.0.0.1", 0)
               for name in ("one", "two")]
    ports = [next(iter(server.sockets)).getsockname()[1] for server in servers]
    port = free_port()
    conf = nginx_conf(tmp_path, port, ports)
    checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)],
                             stdin=subprocess.DEVNULL)
    try:
        while not accepts("127.0.0.1", port):
            assert proxy.poll() is None, "nginx stopped"
            await asyncio.sleep(0.05)
        answered: list[str] = []
        for n in range(6):
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/assistant") as socket:
                for text in ("hello", "again"):
                    await socket.send(f"{text}{n}")
                    answered.append(str(await socket.recv()))
        names = [answer.split(":")[0] for answer in answered]
        assert names[0::2] == names[1::2]        # one socket, one bridge throughout
        assert set(names) == {"one", "two"}      # balanced
    finally:
        proxy.terminate()
        proxy.wait(10)
        for server in servers:
            server.close()
