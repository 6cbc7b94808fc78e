"""Print the pip version(s) the installed ansible-test bootstraps its virtual environments with."""

import pathlib
import re

import ansible_test

source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(" ".join(sorted(set(re.findall(r"pip='([0-9.]+)'", source.read_text())))))
