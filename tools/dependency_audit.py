"""Known vulnerabilities in the pinned dependencies: pip-audit for Python, npm audit for bpmn-js.

Offline-tolerant: where a vulnerability database cannot be reached (CI machines here reach the
package registries through a mirror that serves no advisories), it says plainly how many packages
could not be audited and carries on; only a known vulnerability in a package that was audited
fails (exit status 1).

    python tools/dependency_audit.py
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_packages() -> int:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                            text=True, check=True).stdout
    requirements = ROOT / ".pip-audit-requirements.txt"
    requirements.write_text(frozen)
    try:
        done = subprocess.run([sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "-f", "json",
                               "-r", str(requirements)], capture_output=True, text=True)
    finally:
        requirements.unlink()
    try:
        found = json.loads(done.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(f"python: pip-audit could not run: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
        return 0
    skipped = [d for d in found if d.get("skip_reason")]
    vulnerable = [d for d in found if d.get("vulns")]
    audited = len(found) - len(skipped)
    print(f"python: {audited} of {len(found)} packages audited"
          + (f"; {len(skipped)} could not be (the vulnerability database was not reachable)" if skipped else ""))
    for d in vulnerable:
        for v in d["vulns"]:
            print(f"python: {d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or []) or 'no release yet'})")
    return len(vulnerable)


def npm_packages() -> int:
    done = subprocess.run(["npm", "audit", "--json", "--omit=dev"], cwd=ROOT, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout or "{}")
    except ValueError:
        report = {}
    if "metadata" not in report:
        print(f"npm: could not be audited (the advisory endpoint answered: {report.get('message') or done.returncode})")
        return 0
    counts = report["metadata"].get("vulnerabilities", {})
    total = sum(counts.values())
    print(f"npm: {report['metadata'].get('dependencies', {}).get('total', '?')} packages audited, "
          f"{total} known vulnerabilities" + (f" ({counts})" if total else ""))
    return total


if __name__ == "__main__":
    sys.exit(1 if python_packages() + npm_packages() else 0)
