"""What scripts/replay, scripts/simulate, scripts/bench and scripts/cost
share: setting up a fresh machine, free ports, a redis-server and an
nginx of their own on loopback, with the nginx the module was built for,
and the shop that bench and cost walk."""

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


# the shop of scripts/bench and scripts/cost: its pages, steps and walk

SHOP_PAGES = ["index", "search", "category", "cart", "shipping", "payment",
              "confirm", "help", "item/1", "item/2", "item/3"]

SHOP_STEPS = """
        cx %(cx)s;
        cx_cookie cx_id;
        cx_step home      /;
        cx_step search    /search;
        cx_step category  /category;
        cx_step item:$1   ~^/item/(\\d+)$;
        cx_step cart      /cart;
        cx_step shipping  /shipping;
        cx_step payment   /payment;
        cx_step confirm   /confirm;
        cx_step help      /help;
        cx_goal confirm;
"""

# what makes the module fast: "on" of scripts/bench, scripts/cost
SHOP_FAST = """
    cx_model_cache 64m valid=1s customers=60s;
    cx_write_behind 100ms;
"""

# customers walk it, each one step further at each of their requests and
# from a page of their own; a journey ends at the goal, the next begins
SHOP_WALK = ["/", "/search", "/category", "/item/1", "/item/2", "/item/3",
             "/cart", "/shipping", "/payment", "/confirm"]


def shop_pages(html):
    """The shop's static pages under html/."""
    os.makedirs(os.path.join(html, "item"), exist_ok=True)
    for p in SHOP_PAGES:
        with open(os.path.join(html, p + ".html"), "w") as f:
            f.write("<html><body><h1>%s</h1>%s</body></html>\n"
                    % (p.replace("/", " "), "<p>shop</p>" * 40))
