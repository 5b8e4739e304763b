"""What scripts/replay, scripts/simulate and scripts/bench share: setting
up a fresh machine, free ports, and a redis-server and an nginx of their
own on loopback, with the nginx the module was built for."""

import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(ROOT, "build", "ngx_http_cx_module.so")

# the nginx the module was built for: NGINX_SRC builds leave build/nginx
NGINX = os.path.join(ROOT, "build", "nginx")
if not os.path.exists(NGINX):
    NGINX = "/usr/sbin/nginx"


def prepare(packages):
    """Installs the Debian packages a fresh machine lacks (as root, with
    scripts/lib.sh), then builds the module unless CX_NO_BUILD=1."""
    subprocess.run(["bash", "-c", ". scripts/lib.sh && cx_need_packages "
                    + " ".join(packages)], cwd=ROOT, check=True)
    if os.environ.get("CX_NO_BUILD") != "1":
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "build.sh")],
                       check=True, stdout=subprocess.DEVNULL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("%s does not listen on %d" % (what, port))


def start_redis(port, directory):
    """A redis-server on 127.0.0.1:port, its files (redis.pid) there."""
    os.makedirs(directory, exist_ok=True)
    subprocess.run(["redis-server", "--port", str(port), "--bind",
                    "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", directory, "--daemonize", "yes",
                    "--pidfile", os.path.join(directory, "redis.pid"),
                    "--logfile", os.path.join(directory, "redis.log")],
                   check=True)
    wait_port(port, "redis-server")


def start_nginx(prefix, port):
    """nginx with prefix/conf/nginx.conf, once it listens on port."""
    subprocess.run([NGINX, "-e", "logs/error.log", "-p", prefix + "/",
                    "-c", "conf/nginx.conf"], check=True)
    wait_port(port, "nginx")


def stop(pidfile):
    try:
        with open(pidfile) as f:
            os.kill(int(f.read()), signal.SIGTERM)
    except (OSError, ValueError):
        pass
