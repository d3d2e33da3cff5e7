"""`[[wsgi]] django_settings`: turnout sets up a Django project from its settings module.

Django's settings are global to a process, and other tests configure them, so these run
`turnout` in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures import write_config

SETTINGS = """
SECRET_KEY = "a-test-key-that-is-long-enough-to-be-taken-seriously-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "blogsite.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
"""

URLS = """
from django.http import HttpResponse
from django.urls import include, path

def post(request, pk):
    return HttpResponse(f"post {pk}")

blog = ([path("posts/<int:pk>/", post, name="post")], "blog")
urlpatterns = [path("blog/", include(blog))]
"""


def project(tmp_path: Path) -> None:
    package = tmp_path / "blogsite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS)
    (package / "urls.py").write_text(URLS)


def turnout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True, text=True, timeout=60)


def test_a_django_project_is_mounted_from_its_settings_module(tmp_path: Path) -> None:
    project(tmp_path)
    path = write_config(tmp_path, '[[wsgi]]\nprefix = "/old"\ndjango_settings = "blogsite.settings"\nname = "dj"\n')
    done = turnout("routes", str(path), "--json")
    assert done.returncode == 0, done.stderr
    entries = {entry["endpoint"]: entry for entry in json.loads(done.stdout)}
    assert entries["blog:post"]["pattern"] == "/old/blog/posts/{pk:int}/"
    assert entries["blog:post"]["original"] == "blog/posts/<int:pk>/"
    assert entries["dj"]["defined_at"].endswith("turnout.toml:1")


def test_django_settings_mistakes_are_reported(tmp_path: Path) -> None:
    project(tmp_path)
    both = write_config(tmp_path, '[[wsgi]]\nprefix = "/old"\napp = "x:y"\ndjango_settings = "blogsite.settings"\n')
    done = turnout("routes", str(both))
    assert done.returncode == 2 and "not both" in done.stderr and "Traceback" not in done.stderr
    missing = write_config(tmp_path, '[[wsgi]]\nprefix = "/old"\ndjango_settings = "nosuchsite.settings"\n')
    done = turnout("routes", str(missing))
    assert done.returncode == 2 and "does not import" in done.stderr and "Traceback" not in done.stderr
