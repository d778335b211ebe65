"""Every role's interface is told the same way in three places.

defaults/main.yml (what the role uses), meta/argument_specs.yml (what Ansible
validates) and the README's variable table (what people read) must name the
same variables with the same defaults. A default that points at a platform
variable ("{{ __tmux_packages }}") is resolved through vars/main.yml. The
README table is generated from the specs (scripts/role_docs.py) and must be
current.
"""

import importlib.util
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
ROW = re.compile(r"^\|\s*`(?P<name>[a-z0-9_]+)`\s*\|\s*(?P<default>[^|]*?)\s*\|\s*(?P<type>[^|]*?)\s*\|")
INDIRECT = re.compile(r"\{\{\s*(__[a-z0-9_]+)\s*\}\}")
_SPEC = importlib.util.spec_from_file_location("role_docs", ROOT / "scripts" / "role_docs.py")
role_docs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(role_docs)


def load(path):
    return yaml.safe_load(path.read_text()) or {}


def readme_rows(role):
    rows = {}
    for line in (role / "README.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group("name")] = match.groupdict()
    return rows


def resolved_defaults(role):
    defaults = load(role / "defaults" / "main.yml")
    platform = load(role / "vars" / "main.yml")
    out = {}
    for name, value in defaults.items():
        if isinstance(value, str) and INDIRECT.fullmatch(value):
            value = platform[INDIRECT.fullmatch(value).group(1)]
        elif isinstance(value, str):
            value = INDIRECT.sub(lambda m: str(platform[m.group(1)]), value)
        out[name] = value
    return out


def readme_default(text):
    text = text.strip()
    if text.startswith("`") and text.endswith("`"):
        text = text[1:-1]
    return yaml.safe_load(text) if text not in ("", "''") else ""


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_match_defaults(role):
    options = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = resolved_defaults(role)
    assert sorted(options) == sorted(defaults)
    for name, spec in options.items():
        assert "type" in spec and "description" in spec, name
        if spec["type"] == "list":
            assert "elements" in spec, name
        assert spec.get("default") == defaults[name], name


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_readme_table_matches_argument_specs(role):
    options = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    rows = readme_rows(role)
    assert sorted(rows) == sorted(options)
    for name, spec in options.items():
        assert readme_default(rows[name]["default"]) == spec.get("default"), name
        assert rows[name]["type"].split()[0] == spec["type"], name


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_readme_table_is_generated_from_argument_specs(role):
    text = (role / "README.md").read_text()
    assert role_docs.render(role, text) == text, (
        "roles/%s/README.md: the variable table is not what meta/argument_specs.yml gives; "
        "run python3 scripts/role_docs.py" % role.name)
