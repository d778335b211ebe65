# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py script ansible-test downloads.

ansible-test bootstraps pip in each test virtualenv with a get-pip.py fetched
from a host that is not reachable from the lab (only PyPI is). scripts/test.sh
saves this file where ansible-test caches that download; it installs pip with
the standard library's ensurepip and then lets pip install the pinned
packages ansible-test asked for from the package index.
"""

import subprocess
import sys

GET_PIP_ONLY_FLAGS = ('--no-setuptools', '--no-wheel')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    main()
