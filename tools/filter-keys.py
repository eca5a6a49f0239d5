#!/usr/bin/python3
"""tools/filter-keys.py — the filter keys the Docker Engine API spec lists for each route that
takes a `filters` parameter, one route a line ("GET /containers/json ancestor before ..."), for
tests/handlers/test_filters.c to compare with handlers/filters.c's table. The spec is not in
the repository, so its output is: tests/handlers/data/filter-keys.txt.

    tools/filter-keys.py /work/shared/reference/docker-engine-api-v1.50.yaml \
        > tests/handlers/data/filter-keys.txt

Keys are read from the parameter's description, where each is a list item that opens with
the key in backquotes (- `label=key` ..., - `ancestor`=(...)); a `label` item that also names
`label!=` forms brings the `label!` key with it, as dockerd accepts it.
"""
import re
import sys

import yaml  # Debian's python3-yaml: run with /usr/bin/python3

ITEM = re.compile(r"^\s*-\s+`([a-z][a-z0-9.-]*)")


def keys_of(description):
    keys = set()
    for line in description.splitlines():
        m = ITEM.match(line)
        if not m:
            continue
        keys.add(m.group(1))
        if "`%s!=" % m.group(1) in line:
            keys.add(m.group(1) + "!")
    return sorted(keys)


def main(path):
    spec = yaml.safe_load(open(path))
    print("# Filter keys per route, from %s (API %s) by tools/filter-keys.py."
          % (path.rsplit("/", 1)[-1], spec["info"]["version"]))
    print("# METHOD PATH KEY...")
    for route, ops in spec["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            for p in op.get("parameters", []):
                if p.get("name") == "filters":
                    print(method.upper(), route, " ".join(keys_of(p.get("description", ""))))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "/work/shared/reference/docker-engine-api-v1.50.yaml")
