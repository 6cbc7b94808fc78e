"""Extract one collection (e.g. kubernetes/core) from the `ansible` community wheel.

Galaxy is not always reachable; the `ansible` package on PyPI bundles every collection it ships,
so the dependency is taken from there without installing the other 470 MB.
usage: extract_collection.py WHEEL NAMESPACE/NAME DEST   (DEST receives ansible_collections/...)
"""

import os
import sys
import zipfile


def main():
    wheel, collection, dest = sys.argv[1:4]
    prefix = "ansible_collections/%s/" % collection.strip("/")
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith(prefix)]
        if not members:
            sys.exit("%s does not contain %s" % (wheel, prefix))
        archive.extractall(dest, members=members)
    print("extracted %d files of %s into %s" % (len(members), collection, os.path.join(dest, prefix)))


if __name__ == "__main__":
    main()
