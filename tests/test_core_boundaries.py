"""The core (workflows/) knows nothing of the faces on it: every one of its modules imports in a
Python where Flask and Celery cannot be imported at all."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORT_THE_CORE_WITHOUT_FACES = """
import importlib, pkgutil, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("flask", "flask_login", "flask_wtf", "celery", "kombu"):
            raise ImportError(f"{name} is not importable here")
        return None

sys.meta_path.insert(0, Refuse())
import workflows
modules = [m.name for m in pkgutil.walk_packages(workflows.__path__, "workflows.")]
for name in modules:
    importlib.import_module(name)
print(len(modules))
"""


def test_every_module_of_the_core_imports_without_flask_or_celery():
    done = subprocess.run([sys.executable, "-c", IMPORT_THE_CORE_WITHOUT_FACES], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 30  # every module was walked, not an empty package


def test_every_module_and_face_imports_first_in_a_fresh_python():
    """A module that can only be imported after some other one has hidden an import cycle (a Celery
    worker starts from workers/, which imported the register in an order no test had)."""
    from concurrent.futures import ThreadPoolExecutor
    import pkgutil

    import workflows
    names = ["workers", "webapp", "cli.main",
             *(m.name for m in pkgutil.walk_packages(workflows.__path__, "workflows."))]

    def first(name):
        done = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True)
        return name, done.returncode, done.stderr.strip().splitlines()[-1:]
    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = [(n, err) for n, code, err in pool.map(first, names) if code != 0]
    assert not failed, failed
