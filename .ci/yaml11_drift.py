"""openapi.yaml must read the same under a YAML 1.1 parser (PyYAML, like SnakeYAML in Java
code generators) as the server's /openapi.json: no unquoted `11:00` read as 660, no date,
no `on` read as true. Usage: python yaml11_drift.py openapi.yaml < openapi.json"""
import json
import sys

import yaml


def diff(a, b, path="$"):
    if type(a) is not type(b):
        return [f"{path}: YAML 1.1 reads {a!r} ({type(a).__name__}), JSON has {b!r}"]
    if isinstance(a, dict):
        out = [f"{path}.{k}: missing on one side" for k in set(a) ^ set(b)]
        for k in set(a) & set(b):
            out += diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


with open(sys.argv[1], encoding="utf-8") as f:
    from_yaml = yaml.safe_load(f)
from_json = json.load(sys.stdin)
problems = diff(from_yaml, from_json)
for p in problems[:50]:
    print(p)
print(f"openapi.yaml under YAML 1.1 (PyYAML {yaml.__version__}): {len(problems)} differences from /openapi.json")
sys.exit(1 if problems else 0)
