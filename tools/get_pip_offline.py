"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test creates its virtual environments without pip and downloads a get-pip script
from a host that is unreachable on networks that only reach PyPI. Before downloading it looks
for ~/.ansible/test/cache/get_pip_<version>.py; `make setup` places this file there only when
that host cannot be reached. It seeds pip from the interpreter's bundled wheel (ensurepip)
and then installs the requested pip version from the configured package index.
"""

import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in IGNORED]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)


if __name__ == "__main__":
    main()
