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
