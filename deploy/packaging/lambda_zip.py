"""`make package`: the Lambda artifact, `dist/imgpipe-lambda-<arch>.zip`.

Only `worker/`, `shared/` and the runtime dependencies they import (the project's dependencies
minus the CLI's), installed from manylinux wheels for Python 3.12 on the target architecture, so
the zip built on any machine runs on Lambda. Fails if the unzipped tree would exceed Lambda's
250 MB limit; botocore's models of services the worker never calls are left out.

The tree is byte-compiled by a Python of the runtime's version (`unchecked-hash` .pyc: Lambda's
/var/task is read-only and never changes, so nothing is re-checked or rewritten): without it
every cold start compiles pydantic, Powertools and botocore again, which tripled the client
API's import time (0.8 s against 0.27 s, measured under 3.12).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("worker", "shared")
CLI_ONLY = {"typer", "rich", "pillow", "requests"}
# Published only as an sdist that builds a pure-Python (py3-none-any) wheel: installed without
# the platform pin, after its binary dependency (cffi) came in with the pinned ones.
PURE_SDISTS = {"pyvips": "cffi>=1.0"}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
LAMBDA_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # Terraform's `filename` uploads the zip directly
PLATFORMS = {  # Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34)
    "arm64": ["manylinux_2_34_aarch64", "manylinux_2_28_aarch64", "manylinux2014_aarch64"],
    "x86_64": ["manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64"],
}
PRUNE = ("__pycache__", "tests", "*.pyc")
# botocore carries the API model of every AWS service (over 400, a quarter of the zip); the
# worker makes S3, SQS and SNS clients, and credential providers may call STS and SSO. Without
# the rest the zip stays under the 50 MB that Lambda takes as a direct upload.
BOTOCORE_SERVICES = {"s3", "sqs", "sns", "sts", "sso", "sso-oidc"}


def requirements() -> list[str]:
    """The project's runtime dependencies that the worker needs (not the CLI's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [dep for dep in project["dependencies"] if _name(dep) not in CLI_ONLY]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0]


def install(tree: Path, arch: str | None, python_version: str) -> None:
    """pip-install the requirements into `tree`; `arch` None means for this interpreter."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(tree), "--no-compile"]
    if arch is None:
        subprocess.run([*pip, *requirements()], check=True)
        return
    pinned = [*pip, "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version]
    for platform in PLATFORMS[arch]:
        pinned += ["--platform", platform]
    binary = [r for r in requirements() if _name(r) not in PURE_SDISTS]
    pure = [r for r in requirements() if _name(r) in PURE_SDISTS]
    subprocess.run([*pinned, *binary, *(PURE_SDISTS[_name(r)] for r in pure)], check=True)
    subprocess.run([*pip, "--no-deps", *pure], check=True)


def build(out_dir: Path, arch: str | None, python_version: str = "3.12") -> Path:
    """Build the zip into `out_dir`; returns its path."""
    name = f"imgpipe-lambda-{arch or 'local'}.zip"
    with tempfile.TemporaryDirectory(prefix="imgpipe-package-") as scratch:
        tree = Path(scratch) / "tree"
        install(tree, arch, python_version)
        _prune_botocore(tree / "botocore" / "data")
        for package in CODE:
            shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns(*PRUNE))
        _compile(tree, sys.executable if arch is None else _interpreter(python_version))
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        if size > LAMBDA_UNZIPPED_LIMIT:
            raise SystemExit(f"package: {size / 2**20:.0f} MB unzipped, over Lambda's 250 MB limit")
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / name
        _zip(tree, target)
    zipped = target.stat().st_size
    if zipped > LAMBDA_DIRECT_UPLOAD_LIMIT:
        raise SystemExit(f"package: {zipped / 2**20:.1f} MB zipped, over the 50 MB Lambda takes directly")
    print(f"package: {target} {target.stat().st_size / 2**20:.1f} MB zipped, {size / 2**20:.1f} MB unzipped")
    return target


def _prune_botocore(data: Path) -> None:
    for service in data.iterdir():
        if service.is_dir() and service.name not in BOTOCORE_SERVICES:
            shutil.rmtree(service)


def _interpreter(version: str) -> str | None:
    """A working Python of `version` on this machine (pyenv, then PATH), to compile for the runtime."""
    pyenv = sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}.*/bin/python"))
    for candidate in [*reversed(pyenv), shutil.which(f"python{version}")]:
        # a pyenv shim is on PATH whether or not that version is installed: try it
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


def _compile(tree: Path, python: str | None) -> None:
    if python is None:
        print("package: no Python of the runtime's version here: shipped without .pyc (slower cold starts)")
        return
    # libraries' own test suites (numpy's are 12 MB of .pyc) never run here: not compiled
    options = ["-q", "-j", "0", "--invalidation-mode", "unchecked-hash", "-x", r"[/\\]tests?[/\\]"]
    command = [python, "-m", "compileall", *options, str(tree)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def _zip(tree: Path, target: Path) -> None:
    # Sorted entries and a fixed timestamp: the same inputs give the same zip.
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(tree)), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.suffix == ".so" or ".so." in path.name else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def main() -> None:
    """Command line: `python -m deploy.packaging.lambda_zip [--arch arm64|x86_64|local] [--out dist]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", choices=[*PLATFORMS, "local"], default="arm64")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    build(args.out, None if args.arch == "local" else args.arch)


if __name__ == "__main__":
    main()
