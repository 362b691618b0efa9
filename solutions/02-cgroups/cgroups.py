# %% [markdown]
# # Chapter 2 — Cgroups: limits, accounting, and why `top` lies inside a container
#
# Chapter 1 gave a process its own *view* of the machine (namespaces). This chapter limits
# what it may *use*. A **control group** (cgroup) is, in the words of our notes, "a subsystem
# directory plus a set of resource-limit files": a runtime creates a directory for each
# container under each controller, writes limits into files, then writes the container's PID
# into the directory. That is the whole trick, and we will do exactly that:
#
# - cap a CPU-burning process at half a CPU and watch the kernel throttle it;
# - let a memory hog meet the OOM killer at `memory.max`;
# - stop a fork bomb with `pids.max`;
# - see why `free` and `top` inside a limited container still show the whole host;
# - compare cgroup **v1** and **v2**, the two interfaces real machines have.
#
# **Prerequisites:** chapter 0 (quantities) and chapter 1 (processes and `/proc`).
# **Where the code lives:** `fromscratch/linux/cgroups.py` (the interface),
# `cgroups_v1.py` / `cgroups_v2.py` (the two file dialects), `cgroups_detect.py`,
# `fromscratch/sim/cgroups.py` (the simulated kernel), `fromscratch/resources.py`
# (Kubernetes requests/limits) and `fromscratch/usage.py` (usage sampling).

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# ## 1. What this machine has
#
# Linux has two cgroup interfaces. **v1** mounts one hierarchy per controller
# (`/sys/fs/cgroup/cpu`, `/sys/fs/cgroup/memory`, …); **v2** has one unified tree with every
# controller. Many machines are **hybrid**: v1 owns the controllers and a nearly empty v2
# mount is used only to track processes. A runtime must *detect* which it is on.

# %%
import os

from fromscratch.linux.cgroups import open_cgroup
from fromscratch.linux.cgroups_detect import detect

layout = detect()
print(layout.describe())
if os.path.exists("/proc/self/cgroup"):
    print("\nthis notebook's own cgroups (/proc/self/cgroup):")
    print(open("/proc/self/cgroup").read())

# %% [markdown]
# `open_cgroup` picks the interface that owns `cpu`, `memory` and `pids` here — or the
# simulated kernel when this notebook cannot touch real cgroups. Every group we make lives
# under our own `fromscratch/` subtree; we never write into groups we did not create.

# %%
demo = open_cgroup(f"demo-{os.getpid()}").create()
print(demo, "-", demo.note)
print("directories:", *demo.directories(), sep="\n  ")

# %% [markdown]
# The directory is full of files the kernel made for us. Writing to them sets limits,
# reading them gives accounting.

# %%
files = list(demo.iter_files())
interesting = {"cgroup.procs", "cpu.max", "cpu.weight", "cpu.cfs_quota_us", "cpu.shares", "cpu.stat",
               "cpuacct.usage", "memory.max", "memory.limit_in_bytes", "memory.events",
               "memory.failcnt", "pids.max", "pids.current"}
print(len(files), "files, among them:", ", ".join(f for f in files if f in interesting))

# %% [markdown]
# ## 2. Putting a process into a group
#
# Joining a group is one write: the PID into `cgroup.procs`. A runtime does it *before* the
# container's program starts (between `fork` and `exec`), so not a single instruction escapes
# the limits. `Cgroup.run` does the same; `/proc/PID/cgroup` shows where the kernel put it.

# %%
from fromscratch.linux.cgroups_workloads import BurnCPU, ForkBomb, HogMemory, Sleep

sleeper = demo.run(Sleep(30))
print("cgroup.procs:", demo.procs())
if demo.mode == "real":
    print(open(f"/proc/{sleeper.pid}/cgroup").read())
sleeper.kill()

# %% [markdown]
# ## 3. CPU: a quota of half a CPU
#
# CFS bandwidth control gives a group `quota` µs of CPU time per `period` µs. With
# `quota = 50000` and `period = 100000` it may run 50 ms in every 100 ms: half a CPU. Once the
# 50 ms are spent the group is **throttled** until the next period starts; `cpu.stat` counts
# the periods (`nr_periods`), how many were throttled (`nr_throttled`) and for how long
# (`throttled_usec`, v1: `throttled_time` in ns).
#
# Our burner wants **two** CPUs. We sample it every 0.1 s for 3 s, and halfway through lower
# the quota to 0.2 CPU.

# %%
from fromscratch.usage import UsageMeter

demo.set_cpu_limit(50_000, 100_000)
burner = demo.run(BurnCPU(processes=2, seconds=8))
meter, last = UsageMeter(demo), demo.cpu_stat()
times, usage, throttled = [], [], []
for step in range(30):
    if step == 15:
        demo.set_cpu_limit(20_000, 100_000)
    demo.sleep(0.1)
    millicores, _ = meter.read()
    stat = demo.cpu_stat()
    times.append((step + 1) / 10)
    usage.append(millicores)
    throttled.append((stat.throttled_usec - last.throttled_usec) / 1000)
    last = stat
    if step % 10 == 9:
        print(f"sampled {step + 1}/30")
print("cpu.stat now:", stat)

# %%
import matplotlib.pyplot as plt

fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True)
top.plot(times, usage, marker=".", label="measured")
top.step([0, 1.5, 3.0], [500, 200, 200], where="post", color="red", linestyle="--", label="quota")
top.set_ylabel("millicores")
top.legend(loc="upper right")
bottom.bar(times, throttled, width=0.08, color="orange")
bottom.set_ylabel("throttled ms\nper 100 ms")
bottom.set_xlabel("seconds")
fig.suptitle(f"A 2-CPU burner under a CFS quota ({demo.mode} kernel)")
plt.show()

# %% [markdown]
# Throttled time can exceed the 100 ms interval: it is counted **per CPU**, and the burner
# waits on two CPUs at once. This is why latency-sensitive services see pauses under a CPU
# limit even when their *average* use is below it.
#
# Try it yourself: move the slider to change the quota, then click *measure* (it samples for
# one second). In a static copy of this notebook the widget does nothing.

# %%
import ipywidgets as widgets
from IPython.display import display

slider = widgets.IntSlider(value=500, min=100, max=2000, step=100, description="millicores")
button = widgets.Button(description="measure")
output = widgets.Output()


def measure(_=None):
    demo.set_cpu_limit(slider.value * 100, 100_000)
    demo.run(BurnCPU(processes=2, seconds=1.5))
    sample = UsageMeter(demo)
    demo.sleep(1.0)
    with output:
        print(f"quota {slider.value}m -> measured {sample.read()[0]}m")


button.on_click(measure)
display(widgets.HBox([slider, button]), output)

# %%
burner.kill()
demo.remove()

# %% [markdown]
# ## 4. Memory: the OOM killer at `memory.max`
#
# A memory limit is a hard wall. When a charge would pass it the kernel first tries to reclaim
# (drop file cache, swap); anonymous memory with no swap cannot be reclaimed, so the
# **OOM killer** picks the biggest process in the group and sends it `SIGKILL`. The group's
# counters keep the story: v2 `memory.events` (`max`, `oom`, `oom_kill`), v1 `memory.failcnt`
# and `memory.oom_control`. Our hog stops at 256 MiB on its own; the limit is 64 MiB.

# %%
with open_cgroup(f"memory-{os.getpid()}") as box:
    box.set_memory_max(64 * 2**20)
    hog = box.run(HogMemory(max_bytes=256 * 2**20, step_bytes=4 * 2**20))
    code = hog.wait(timeout=30)
    print("hog exit code:", code, "(-9 = killed by SIGKILL)" if code == -9 else "")
    print("memory events:", box.memory_events())
    raw = "memory.events" if box.version == 2 else "memory.oom_control"
    print(f"{raw}:\n{box.read(raw)}")

# %% [markdown]
# ## 5. A fork bomb meets `pids.max`
#
# A fork bomb creates processes until the machine can create no more. `pids.max` caps the
# number of tasks in a group: the fork that would pass it fails with `EAGAIN`, and the group's
# `pids.events` counts the refusals. Ours is bounded (at most 200 forks) and linear, but the
# limit works the same for the exponential `:(){ :|:& };:`.

# %%
with open_cgroup(f"pids-{os.getpid()}") as box:
    box.set_pids_max(20)
    bomb = box.run(ForkBomb(max_forks=200, hold_seconds=1.0))
    print("the bomb says:", bomb.output().strip())
    print("pids.events max:", box.pids_refused(), "| pids.max:", box.read("pids.max"))

# %% [markdown]
# ## 6. Why `free` and `top` lie inside a container
#
# Put a process under a 64 MiB limit and ask it how much memory the machine has: it reads
# `/proc/meminfo`, which the kernel fills in for the **whole host**, cgroup or not. Same for
# CPUs: `/proc/cpuinfo` and `os.cpu_count()` ignore the quota. Tools such as `free`, `top` and
# many language runtimes (older JVMs sized their heap this way) then plan for memory they can
# never get, and are OOM-killed.

# %%
import subprocess
import sys

probe = ("import os\n"
         "total = [l for l in open('/proc/meminfo') if l.startswith('MemTotal')][0].split()[1]\n"
         "print(f'MemTotal {int(total) // 1024} MiB, CPUs {os.cpu_count()}')\n")
with open_cgroup(f"proc-{os.getpid()}") as box:
    box.set_memory_max(64 * 2**20)
    box.set_cpu_limit(50_000)
    if box.mode == "real":
        seen = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                              preexec_fn=lambda: [open(p, "w").write(str(os.getpid()))
                                                  for p in box.procs_files()]).stdout.strip()
    else:
        seen = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True,
                              text=True).stdout.strip() + "  (host /proc, no real cgroup here)"
    limit = box.read("memory.max" if box.version == 2 else "memory.limit_in_bytes")
    print("inside the group, /proc says:", seen)
    print("but the group's limit is    :", int(limit) // 2**20, "MiB and half a CPU")

# %% [markdown]
# **LXCFS** fixes this from user space: a small FUSE filesystem that serves its own
# `/proc/meminfo`, `/proc/cpuinfo`, `/proc/stat` and `/proc/uptime`, computed from the reading
# process's cgroup. A runtime bind-mounts those files over the container's `/proc/...` and
# `free` tells the truth. (Inside the container, the robust answer is to read the cgroup's own
# files, as modern JVMs and Go do.)

# %%
import shutil

lxcfs = "/var/lib/lxcfs/proc/meminfo"
if os.path.exists(lxcfs):
    print("LXCFS is running here; its view for this process:")
    print("".join(open(lxcfs).readlines()[:3]))
else:
    print("LXCFS is", "installed but not mounted" if shutil.which("lxcfs") else "not installed",
          "on this machine, so we only describe it. With it: mount lxcfs at /var/lib/lxcfs and "
          "bind-mount /var/lib/lxcfs/proc/meminfo over the container's /proc/meminfo.")

# %% [markdown]
# ## 7. cgroup v1 and v2, side by side
#
# The same limits, written by the same code, into both interfaces. (Two simulated kernels
# here, so both exist on every machine; on a real host you get whichever it has.)

# %%
from fromscratch.linux.cgroups import CgroupLimits
from fromscratch.sim.cgroups import SimKernel

limits = CgroupLimits(cpu_quota_us=50_000, cpu_shares=512, memory_max=64 * 2**20, pids_max=20)
for version in (1, 2):
    with open_cgroup("side-by-side", kernel=SimKernel(version)) as group:
        group.apply(limits)
        print(f"cgroup v{version}: {len(group.directories())} director"
              f"{'ies' if len(group.directories()) > 1 else 'y'}")
        for name, value in group.limit_files().items():
            print(f"   {name:<24} {value}")

# %% [markdown]
# | | cgroup v1 | cgroup v2 |
# |---|---|---|
# | layout | one hierarchy per controller | one tree; parents hand controllers down via `cgroup.subtree_control` |
# | CPU limit | `cpu.cfs_quota_us` + `cpu.cfs_period_us` | `cpu.max` = `"quota period"` |
# | CPU weight | `cpu.shares` (2..262144, default 1024) | `cpu.weight` (1..10000, default 100) |
# | CPU usage | `cpuacct.usage` (ns) | `cpu.stat` `usage_usec` |
# | memory | `memory.limit_in_bytes`, `memory.usage_in_bytes`, `memory.failcnt` | `memory.max`, `memory.current`, `memory.events` |
# | processes | `tasks` (threads), `cgroup.procs` | `cgroup.procs`; no processes in inner nodes that delegate |
# | kill all | one by one | `cgroup.kill` |
#
# ## 8. From a Pod spec to these files
#
# The kubelet converts requests and limits (in chapter 0's quantities) into exactly these
# numbers: request → shares (weight on v2), limit → quota, memory limit → bytes. And it sorts
# each Pod into a QoS class. You will write these conversions in `exercises.ipynb`.

# %%
from fromscratch import resources

container = {"name": "web", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                                          "limits": {"cpu": "500m", "memory": "128Mi"}}}
print(resources.container_limits(container))
print("QoS class:", resources.qos_class({"spec": {"containers": [container]}}))

# %% [markdown]
# ## Summary
#
# - A cgroup is a directory; limits are files; joining is writing a PID into `cgroup.procs`.
# - CPU limits are a quota per period, enforced by throttling; memory limits by the OOM killer;
#   `pids.max` by failing `fork`.
# - `/proc` is not virtualised by cgroups: inside a container, read the cgroup's own files
#   (or use LXCFS).
# - v1 and v2 say the same things with different file names and different rules.
#
# **Going further:** the kernel's `Documentation/admin-guide/cgroup-v2.rst` and
# `Documentation/scheduler/sched-bwc.rst`; runc's `libcontainer/cgroups` (`fs` for v1, `fs2`
# for v2); the kubelet's `pkg/kubelet/cm`; LXCFS (github.com/lxc/lxcfs).
#
# **Next:** the exercises in this folder, then chapter 3 — union filesystems and image layers.
