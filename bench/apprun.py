"""Starting and watching the app jar, for the scripts in bench/ (time-to-ready, soak) and deploy/haproxy/check."""
import glob
import os
import re
import socket
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    """True when the app's readiness probe answers 200 (model loaded and warmed up)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/actuator/health/readiness", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def wait_ready(process, port, timeout, script, log):
    """Seconds until the started app is ready; exits with one line when it stops first or is not ready in time."""
    started = time.monotonic()
    while not ready(port):
        if process.poll() is not None:
            sys.exit(f"{script}: the app stopped while starting (exit {process.returncode}); its log: {log}")
        if time.monotonic() - started > timeout:
            sys.exit(f"{script}: the app was not ready after {timeout} s; its log: {log}")
        time.sleep(0.2)
    return time.monotonic() - started


def app_jar(given, script):
    """The jar to run: the one given, else the one `./mvnw package` left in target/."""
    jar = given or next(iter(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "target",
                                                           "kotodama-*-exec.jar")))), None)
    if not jar:
        sys.exit(f"{script}: no app jar: build it with ./mvnw package -DskipTests or pass --jar")
    return jar


def cpu_name():
    with open("/proc/cpuinfo") as info:
        match = re.search(r"^model name\s*:\s*(.*)$", info.read(), re.M)
    return f"{match.group(1) if match else 'unknown'}, {os.cpu_count()} cores"
