"""Plausible mistakes for chapter 4, and the graded tests each must fail."""

WRONG = {
    # reads "/cache:ro" as host "/cache" mounted at "ro", and never checks paths
    "ch04_parse_volume": '''
def parse_volume(text):
    parts = text.split(":")
    if not text:
        raise ValueError("empty volume")
    if len(parts) == 1:
        return {"destination": parts[0], "type": "bind", "source": None, "options": ["rbind", "rw"]}
    mode = parts[2] if len(parts) > 2 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError(f"bad volume mode {mode}")
    if not parts[0].startswith("/"):
        raise ValueError("volume host path must be absolute")
    return {"destination": parts[1], "type": "bind", "source": parts[0], "options": ["rbind", mode]}
''',
    # sorts alphabetically: "/data" < "/data/cache" works by luck, "/b" before "/a" does not
    "ch04_order_mounts": '''
def order_mounts(mounts):
    for mount in mounts:
        if not mount["destination"].startswith("/"):
            raise ValueError("relative destination")
    return sorted(mounts, key=lambda m: m["destination"])
''',
    # appends the request's variables, so PATH appears twice and the default one wins
    "ch04_run_request_config": '''
from fromscratch.runtime.spec import default_spec

def run_request_config(request):
    args = request.get("args")
    if not args or isinstance(args, str):
        raise ValueError("args must be a non-empty list")
    config = default_spec(list(args), hostname=request.get("hostname", "runc"))
    config["process"]["env"] += [f"{k}={v}" for k, v in request.get("env", {}).items()]
    config["process"]["cwd"] = request.get("cwd", "/")
    if not config["process"]["cwd"].startswith("/"):
        raise ValueError("cwd must be absolute")
    for volume in request.get("volumes", []):
        config["mounts"].append(parse_volume(volume))
    resources = config["linux"]["resources"]
    if request.get("cpus") is not None:
        if request["cpus"] <= 0:
            raise ValueError("cpus must be positive")
        resources["cpu"] = {"quota": int(request["cpus"] * 100000), "period": 100000}
    if request.get("memory") is not None:
        if request["memory"] <= 0:
            raise ValueError("memory must be positive")
        resources["memory"] = {"limit": request["memory"]}
    return config
''',
}

EXPECTED_FAILURES = {"ch04_test_parse_volume_shapes", "ch04_test_parse_volume_rejects",
                     "ch04_test_order_mounts", "ch04_test_run_request_env"}
