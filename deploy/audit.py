"""`make audit`: known vulnerabilities of the pinned dependencies, and the image's SBOM.

1. pip-audit checks every pin of constraints.txt against PyPI's vulnerability data. Where the
   index serves only a project's JSON, not a release's (so pip-audit skips every pin, and
   still says "No known vulnerabilities found"), a pin that is the project's latest release is
   checked against that JSON's `vulnerabilities`; any other pin is reported as not audited.
2. With --image: the image's Debian packages that Debian has updated since (apt-get's
   simulated upgrade inside the image), and a CycloneDX SBOM (JSON) of the image's packages
   in deploy/sbom.cdx.json: its Python distributions as cyclonedx-py reads them inside the
   image, and its Debian packages.

Exits 1 when a pin has a known vulnerability or Debian has a security update for the image;
pins that could not be audited are listed, not counted as failures.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONSTRAINTS = ROOT / "constraints.txt"
SBOM = ROOT / "deploy" / "sbom.cdx.json"
SBOM_TOOL = ROOT / "build" / "sbom-tool"
PROJECT_JSON = "https://pypi.org/pypi/{name}/json"
CONTAINERS_CONF = os.environ.get("CONTAINERS_CONF", str(ROOT / "deploy" / "containers.conf"))


@dataclass(frozen=True)
class Finding:
    """What is known of one pin: its vulnerabilities, or why it could not be audited."""

    name: str
    version: str
    vulnerabilities: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()
    not_audited: str | None = None


def pins() -> dict[str, str]:
    """Version by canonical name (pip-audit names `jsonschema_rs` as `jsonschema-rs`)."""
    lines = CONSTRAINTS.read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    return {canonicalize_name(name): version for name, version in pairs}


def pip_audit() -> dict[str, Finding]:
    """pip-audit's findings by name, from the PyPI vulnerability service."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run(
            [
                str(BIN / "pip-audit"), "--requirement", str(CONSTRAINTS), "--no-deps",
                "--disable-pip", "--vulnerability-service", "pypi", "--progress-spinner", "off",
                "--format", "json", "--output", report.name,
            ],
            check=False,
            capture_output=True,
        )  # fmt: skip
        found = json.loads(Path(report.name).read_text())["dependencies"]
    findings: dict[str, Finding] = {}
    for entry in found:
        name = canonicalize_name(entry["name"])
        if "skip_reason" in entry:
            findings[name] = Finding(name, "", not_audited=entry["skip_reason"])
        else:
            vulnerabilities = entry["vulns"]
            findings[name] = Finding(
                name,
                entry["version"],
                tuple(v["id"] for v in vulnerabilities),
                tuple(fix for v in vulnerabilities for fix in v["fix_versions"]),
            )
    return findings


def from_project_json(name: str, version: str) -> Finding:
    """The project's JSON: its `vulnerabilities` are those of its latest release only."""
    with urllib.request.urlopen(PROJECT_JSON.format(name=name), timeout=30) as answer:
        project: dict[str, Any] = json.load(answer)
    latest = project["info"]["version"]
    if latest != version:
        return Finding(name, version, not_audited=f"behind the latest release {latest}")
    vulnerabilities = project.get("vulnerabilities", [])
    return Finding(
        name,
        version,
        tuple(v["id"] for v in vulnerabilities),
        tuple(fix for v in vulnerabilities for fix in v.get("fixed_in") or ()),
    )


def audit() -> list[Finding]:
    pinned = pins()
    audited = pip_audit()
    skipped = [name for name in pinned if name not in audited or audited[name].not_audited]
    if skipped:
        print(f"pip-audit could not audit {len(skipped)} of {len(pinned)} pins against PyPI's")
        print("release data; checking them against each project's JSON instead.")
    with ThreadPoolExecutor(8) as pool:
        fallback = pool.map(lambda name: from_project_json(name, pinned[name]), skipped)
    findings = {**audited, **{finding.name: finding for finding in fallback}}
    return [findings[name] for name in pinned]


def podman(*args: str) -> str:
    done = subprocess.run(
        ["podman", *args],
        env={**os.environ, "CONTAINERS_CONF": CONTAINERS_CONF},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"podman {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


_IN_IMAGE = """
import runpy, sys
sys.path.insert(0, "/sbom-tool")
sys.argv = ["cyclonedx-py", "environment", "--output-format", "JSON", "--output-reproducible",
            "/opt/parcours/bin/python"]
runpy.run_module("cyclonedx_py", run_name="__main__")
"""
"""cyclonedx-py inside the image, on the image's interpreter: the tool itself stays off the
path it reads, so only the image's distributions are listed."""


def sbom(image: str) -> dict[str, Any]:
    """The image's CycloneDX SBOM: Python distributions, then Debian packages."""
    subprocess.run(
        [str(BIN / "pip"), "install", "--quiet", "--upgrade", "--target", str(SBOM_TOOL),
         "--constraint", str(CONSTRAINTS), "cyclonedx-bom"],
        check=True,
    )  # fmt: skip
    document: dict[str, Any] = json.loads(
        podman(
            "run", "--rm", "--network", "none", "--read-only",
            "--volume", f"{SBOM_TOOL}:/sbom-tool:ro", "--entrypoint", "python",
            image, "-c", _IN_IMAGE,
        )
    )  # fmt: skip
    listed = podman(
        "run", "--rm", "--network", "none", "--entrypoint", "dpkg-query", image,
        "--show", "--showformat", "${Package}\t${Version}\t${Architecture}\n",
    )  # fmt: skip
    for line in sorted(listed.splitlines()):
        name, version, architecture = line.split("\t")
        purl = PackageURL(
            "deb", "debian", name, version, {"arch": architecture, "distro": "debian-12"}
        ).to_string()
        document["components"].append(
            {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl}
        )
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    document["metadata"]["component"] = {
        "type": "container",
        "bom-ref": "parcours-image",
        "name": image.rpartition(":")[0],
        "version": version,
    }
    return document


_UPGRADE = re.compile(r"^Inst (\S+) \[(\S+)\] \((\S+) (\S+)")
"""`Inst libssl3 [3.0.15-1~deb12u1] (3.0.17-1~deb12u2 Debian-Security:12/stable-security ...`"""


def debian_updates(image: str) -> list[tuple[str, str, str, str]]:
    """(package, version in the image, newer version, origin) for each Debian package of the
    image that Debian has updated since it was built; as root, on a writable copy."""
    simulated = podman(
        "run", "--rm", "--network", "host", "--user", "0", "--entrypoint", "sh", image, "-c",
        "apt-get update -qq >/dev/null && apt-get --simulate --quiet upgrade",
    )  # fmt: skip
    found = (_UPGRADE.match(line) for line in simulated.splitlines())
    return [match.groups() for match in found if match]  # type: ignore[misc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help="the image whose SBOM to write (default: none)")
    arguments = parser.parse_args()
    findings = audit()
    vulnerable = [finding for finding in findings if finding.vulnerabilities]
    unknown = [finding for finding in findings if finding.not_audited]
    for finding in vulnerable:
        fixes = ", ".join(finding.fixed_in) or "no fixed release"
        print(f"VULNERABLE {finding.name}=={finding.version}: {', '.join(finding.vulnerabilities)}")
        print(f"  fixed in: {fixes}")
    for finding in unknown:
        print(f"NOT AUDITED {finding.name}=={finding.version}: {finding.not_audited}")
    print(
        f"{len(findings)} pins: {len(findings) - len(vulnerable) - len(unknown)} without known "
        f"vulnerabilities, {len(vulnerable)} vulnerable, {len(unknown)} not audited"
    )
    failed = bool(vulnerable)
    if arguments.image:
        updates = debian_updates(arguments.image)
        for package, current, newer, origin in updates:
            print(f"DEBIAN UPDATE {package} {current} -> {newer} ({origin})")
        security = [update for update in updates if "Security" in update[3]]
        print(f"{len(updates)} Debian updates for the image, {len(security)} of them security")
        if security:
            print("  rebuild its base: PARCOURS_REBUILD_BASE=1 make image")
        failed = failed or bool(security)
        document = sbom(arguments.image)
        SBOM.write_text(json.dumps(document, indent=2) + "\n")
        print(f"{len(document['components'])} components of {arguments.image} in {SBOM}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
