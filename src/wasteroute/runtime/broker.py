"""A local MQTT broker: ``mosquitto`` with the project's ``deploy/mosquitto.conf`` when it is installed,
a pure-Python broker (amqtt, MQTT 3.1.1) otherwise.

The mosquitto configuration is the shipped one; only the lines marked ``site:`` (listener, file
locations) are replaced, so demos and loss tests run with the queue and persistence settings users get.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from wasteroute.runtime.ports import free_port, wait_for_port

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEPLOY_CONF = PROJECT_ROOT / "deploy" / "mosquitto.conf"
USERS = ("wasteroute-ingest", "wasteroute-sim")


@dataclass
class BrokerHandle:
    host: str
    port: int
    passwords: dict[str, str]
    protocol: str
    process: subprocess.Popen[bytes] | None
    config_path: Path | None = None

    def url(self, user: str = "wasteroute-ingest") -> str:
        pw = self.passwords.get(user)
        cred = f"{user}:{pw}@" if pw else ""
        return f"mqtt://{cred}{self.host}:{self.port}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        """SIGKILL, for crash tests."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def render_config(template: str, *, port: int, data_dir: Path, password_file: Path, acl_file: Path) -> str:
    """The shipped configuration with its site-specific lines replaced."""
    out: list[str] = []
    for line in template.splitlines():
        key = line.split(" ", 1)[0]
        if key == "listener" and not line.startswith("#"):
            line = f"listener {port} 127.0.0.1"
        elif key == "persistence_location":
            line = f"persistence_location {data_dir}/"
        elif key == "password_file":
            line = f"password_file {password_file}"
        elif key == "acl_file":
            line = f"acl_file {acl_file}"
        out.append(line)
    out.append("user root" if _is_root() else "")
    return "\n".join(out) + "\n"


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def start_mosquitto(
    data_dir: Path,
    port: int | None = None,
    passwords: dict[str, str] | None = None,
    acl: str | None = None,
) -> BrokerHandle:
    """Start ``mosquitto`` with the shipped configuration on ``port`` (a free one by default).

    Passwords are kept in ``data_dir`` so a restarted broker (same dir, same port) accepts the same
    clients and resumes their persisted sessions. ``acl``: the text of the ACL file (for example
    one generated from the integration registry by ``render_acl``); default the shipped
    ``deploy/wasteroute.acl``.
    """
    binary = shutil.which("mosquitto")
    passwd = shutil.which("mosquitto_passwd")
    if binary is None or passwd is None:
        raise FileNotFoundError("mosquitto is not installed")
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    pw_store = data_dir / "passwords.txt"
    if passwords is None:
        if pw_store.exists():
            passwords = dict(line.split(":", 1) for line in pw_store.read_text().split())
        else:
            passwords = {u: secrets.token_urlsafe(16) for u in USERS}
    pw_store.write_text("".join(f"{u}:{p}\n" for u, p in passwords.items()))
    pw_store.chmod(0o600)
    password_file = data_dir / "mosquitto.passwd"
    password_file.unlink(missing_ok=True)
    for user, pw in passwords.items():
        flags = ["-b"] if password_file.exists() else ["-c", "-b"]
        subprocess.run([passwd, *flags, str(password_file), user, pw], check=True, capture_output=True)
    acl_file = data_dir / "mosquitto.acl"
    acl_file.write_text(acl if acl is not None else (PROJECT_ROOT / "deploy" / "wasteroute.acl").read_text())
    config = render_config(
        DEPLOY_CONF.read_text(), port=port, data_dir=data_dir, password_file=password_file, acl_file=acl_file
    )
    config_path = data_dir / "mosquitto.conf"
    config_path.write_text(config)
    log_file = (data_dir / "mosquitto.log").open("ab")
    proc = subprocess.Popen([binary, "-c", str(config_path)], stdout=log_file, stderr=log_file)
    if not wait_for_port("127.0.0.1", port, 10):
        proc.kill()
        raise RuntimeError(f"mosquitto did not start; see {data_dir / 'mosquitto.log'}")
    return BrokerHandle("127.0.0.1", port, passwords, "5", proc, config_path)


def start_python_broker(data_dir: Path, port: int | None = None) -> BrokerHandle:
    """amqtt in a child process (MQTT 3.1.1, no authentication, loopback only)."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    script = textwrap.dedent(
        f"""
        import asyncio
        from amqtt.broker import Broker
        config = {{"listeners": {{"default": {{"type": "tcp", "bind": "127.0.0.1:{port}"}}}},
                  "auth": {{"allow-anonymous": True, "plugins": ["auth_anonymous"]}},
                  "topic-check": {{"enabled": False}}}}
        async def main():
            broker = Broker(config)
            await broker.start()
            await asyncio.Event().wait()
        asyncio.run(main())
        """
    )
    log_file = (data_dir / "amqtt.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=log_file, stderr=log_file)
    if not wait_for_port("127.0.0.1", port, 20):
        proc.kill()
        raise RuntimeError(f"the Python MQTT broker did not start; see {data_dir / 'amqtt.log'}")
    return BrokerHandle("127.0.0.1", port, {}, "3.1.1", proc)


def start_local_broker(data_dir: Path) -> BrokerHandle:
    if shutil.which("mosquitto"):
        return start_mosquitto(data_dir)
    log.warning("mosquitto is not installed; using the pure-Python broker (MQTT 3.1.1, no persistence)")
    return start_python_broker(data_dir)
