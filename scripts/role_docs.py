# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes the variable table of each role's README from its meta/argument_specs.yml.

The specs are the one source of a role's interface (Ansible validates them,
ansible-doc shows them); the README table between the two marker comments is
generated from the ``main`` entry point and never edited by hand:

    python3 scripts/role_docs.py            rewrite every roles/*/README.md table
    python3 scripts/role_docs.py --check    exit 1 and name the READMEs that are stale

tests/roles/test_role_docs.py fails when a table is not current.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEGIN = ('<!-- BEGIN role variables: generated from meta/argument_specs.yml by scripts/role_docs.py;'
         ' edit the specs, then run it -->')
END = '<!-- END role variables -->'

# Ansible's documentation markup -> Markdown.
MARKUP = (
    (re.compile(r'\b(?:C|V|RV|E|M|P)\(([^()]*)\)'), r'`\1`'),
    (re.compile(r'\bO\(([^()]*)\)'), r'`\1`'),
    (re.compile(r'\bI\(([^()]*)\)'), r'*\1*'),
    (re.compile(r'\bB\(([^()]*)\)'), r'**\1**'),
    (re.compile(r'\bU\(([^()]*)\)'), r'<\1>'),
    (re.compile(r'\bL\(([^(),]*),\s*([^()]*)\)'), r'[\1](\2)'),
)


def markdown(text):
    """One table cell from a spec description (a string or a list of paragraphs)."""
    if isinstance(text, (list, tuple)):
        text = ' '.join(str(part) for part in text)
    text = ' '.join(str(text).split())
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    return text.replace('|', '\\|')


def flow(value):
    """A default as YAML flow text, e.g. [tmux, vlock] or ''."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float('inf'), sort_keys=False).strip()
    if text.endswith('\n...'):
        text = text[:-4].rstrip()
    elif text.endswith('...'):
        text = text[:-3].rstrip()
    return text.replace('|', '\\|')


def type_cell(spec):
    kind = spec.get('type', 'str')
    if kind == 'list' and 'elements' in spec:
        kind = 'list of %s' % spec['elements']
    return kind


def description_cell(spec):
    text = markdown(spec.get('description', ''))
    if spec.get('choices'):
        choices = ', '.join('`%s`' % flow(choice) for choice in spec['choices'])
        text = '%s One of %s.' % (text, choices) if text else 'One of %s.' % choices
    if spec.get('required'):
        text = '**Required.** ' + text
    parts = []
    for name, sub in (spec.get('options') or {}).items():
        detail = type_cell(sub) + (', required' if sub.get('required') else '')
        parts.append('`%s` (%s): %s' % (name, detail, markdown(sub.get('description', '')).rstrip('.')))
    if parts:
        text = '%s Each item: %s.' % (text, '; '.join(parts))
    return text


def table(role):
    """The generated block (markers included) for one role directory."""
    specs = yaml.safe_load((role / 'meta' / 'argument_specs.yml').read_text())
    options = specs['argument_specs']['main'].get('options') or {}
    lines = [BEGIN, '| Variable | Default | Type | Description |', '|---|---|---|---|']
    for name, spec in options.items():
        default = '' if 'default' not in spec else '`%s`' % flow(spec['default'])
        lines.append('| `%s` | %s | %s | %s |' % (name, default, type_cell(spec), description_cell(spec)))
    lines.append(END)
    return '\n'.join(lines)


def render(role, readme_text):
    """The README text with its table replaced; ValueError without exactly one marker pair."""
    if readme_text.count(BEGIN) != 1 or readme_text.count(END) != 1:
        raise ValueError('roles/%s/README.md needs exactly one pair of marker lines:\n%s\n%s' % (role.name, BEGIN, END))
    head, rest = readme_text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + table(role) + tail


def roles():
    return sorted(path.parent.parent for path in ROOT.glob('roles/*/meta/argument_specs.yml'))


def main(argv):
    check = '--check' in argv
    stale = []
    for role in roles():
        readme = role / 'README.md'
        old = readme.read_text()
        new = render(role, old)
        if new != old:
            stale.append(str(readme.relative_to(ROOT)))
            if not check:
                readme.write_text(new)
    if check and stale:
        print('stale variable tables (run python3 scripts/role_docs.py): %s' % ', '.join(stale))
        return 1
    for path in stale:
        print('rewrote %s' % path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
