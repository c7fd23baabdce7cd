"""The daemon's transport: MQTT 5, and surviving a broker restart."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from pathlib import Path

from brokers import MOSQUITTO, accepts, free_port, mosquitto_conf, running_task

from atlas.config import Config, Discovery
from atlas.daemon import serve
from atlas.store import Store

from .helpers import RawSkill, channels, dispatch, wait_skills


def daemon_on(config: Config) -> contextlib.AbstractAsyncContextManager[object]:
    return running_task(serve(config, Store.in_data_dir(config.data_dir)))


async def converse(url: str, sid: str, skill: RawSkill, *, create: bool = True) -> None:
    async with channels(url) as devices:
        device = await devices.channel(sid, create=create)
        intent, request = await dispatch(device, skill, "what time is it")
        assert intent == "get_time"
        await skill.say(sid, "terminate", __cid=request["__cid"])
        assert await device.expect("terminate") == [{"reason": "nominal"}]


async def test_the_daemon_speaks_mqtt_5(mosquitto_url: str, data_dir: Path) -> None:
    config = Config(broker=mosquitto_url + "?protocol=5", data_dir=data_dir,
                    discovery=Discovery(interval=0.5, timeout=3))
    async with daemon_on(config):
        skill = RawSkill(mosquitto_url, name=f"raw-{uuid.uuid4().hex[:6]}")  # a 3.1.1 peer
        async with skill.running():
            await wait_skills(mosquitto_url, {skill.name})
            await converse(mosquitto_url, f"v5-{uuid.uuid4().hex[:6]}", skill)


def start_mosquitto(port: int, folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([MOSQUITTO, "-c", str(mosquitto_conf(port, folder))],
                               stdin=subprocess.DEVNULL)
    for _ in range(200):
        if accepts("127.0.0.1", port):
            return process
        process.poll()
        assert process.returncode is None, "mosquitto exited"
        subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError("mosquitto did not start")


async def test_the_daemon_survives_a_broker_restart(tmp_path: Path, data_dir: Path) -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    broker = start_mosquitto(port, tmp_path)
    config = Config(broker=url, data_dir=data_dir, discovery=Discovery(interval=0.5, timeout=3))
    sid = f"restart-{uuid.uuid4().hex[:6]}"
    try:
        async with daemon_on(config):
            skill = RawSkill(url, name=f"raw-{uuid.uuid4().hex[:6]}")
            async with skill.running():
                await wait_skills(url, {skill.name})
                await converse(url, sid, skill)
            broker.kill()
            broker.wait()
            broker = start_mosquitto(port, tmp_path)       # same port, no retained state
            skill = RawSkill(url, name=f"raw-{uuid.uuid4().hex[:6]}")
            async with skill.running():
                await wait_skills(url, {skill.name})        # reconnected, pinged, retrained
                # the channel lives in the daemon, not the broker: no need to create it again
                await converse(url, sid, skill, create=False)
    finally:
        broker.kill()
        broker.wait()
