"""Does the lock resolve on the platforms students use? (Needs the network; not part of `make test`.)

Usage: python benchmarks/check_lock.py

For each platform it asks pip to resolve requirements.txt with wheels only
(`pip install --dry-run --only-binary=:all: --platform ...`) and reports
whether it resolves and whether pip had to add any package the lock does not
pin (which would mean the lock is incomplete there).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from course.benchmarking import table

ROOT = Path(__file__).resolve().parents[1]
MANYLINUX = range(17, 40)
# platform -> (wheel tags pip may use, the marker environment of that platform)
PLATFORMS = {
    "linux x86_64": ([f"manylinux_2_{v}_x86_64" for v in MANYLINUX] + ["manylinux2014_x86_64"],
                     {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}),
    "linux aarch64": ([f"manylinux_2_{v}_aarch64" for v in MANYLINUX] + ["manylinux2014_aarch64"],
                      {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"}),
    "macOS arm64": ([f"macosx_{v}_0_arm64" for v in range(11, 16)] + ["macosx_11_0_universal2"],
                    {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"}),
    "windows x86_64": (["win_amd64"],
                       {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"}),
}


def requirements_for(environment: dict) -> str:
    """requirements.txt with its markers evaluated for another platform (pip would use this machine's)."""
    from packaging.markers import Marker

    lines = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        spec, _, marker = line.partition(";")
        if marker and not Marker(marker.strip()).evaluate(environment):
            continue
        lines.append(spec.strip())
    return "\n".join(lines) + "\n"


def pinned_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(line.split("==")[0].strip().lower().replace("_", "-"))
    return names


def resolve(tags: list[str], environment: dict) -> tuple[bool, str, set[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(requirements_for(environment))
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                   "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                   "--target", str(Path(tmp) / "target"), "--report", str(report), "-r", str(requirements)]
        for tag in tags:
            command += ["--platform", tag]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            return False, (run.stderr.strip().splitlines() or ["?"])[-1][:90], set()
        installed = {item["metadata"]["name"].lower().replace("_", "-")
                     for item in json.loads(report.read_text())["install"]}
        return True, f"{len(installed)} packages", installed


def main() -> int:
    pins = pinned_names()
    rows, failures = [], 0
    for platform, (tags, environment) in PLATFORMS.items():
        ok, detail, installed = resolve(tags, environment)
        extra = sorted(installed - pins)
        failures += (not ok) or bool(extra)
        rows.append([platform, "resolves" if ok else "FAILS", detail, ", ".join(extra) or "-"])
    print(table(["platform", "result", "detail", "packages outside the lock"], rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
