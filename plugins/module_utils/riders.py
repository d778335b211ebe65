# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Another module's read-only work in this module's run: a module takes that module's options as
one option of its own (a dict) and returns that module's answer under the same name. Each module
run costs the host a Python start and the compilation of AnsiballZ's module_utils, more than most
checks cost themselves (docs/benchmarks.md), so a verify asks its questions in as few runs as it
can. Used for host_probe's questions (module_utils/probe_run.py, option ``probe``) and the
recordings' chain check (module_utils/chain_check.py, option ``chain``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text


def attach(module, option, spec, work, errors, label):
    """Run WORK(module, params) for the dict in MODULE's option OPTION (checked against SPEC, the
    other module's argument spec), now, before the module's own work, and return its answer with
    every later exit_json and fail_json of MODULE under OPTION, the way a registered result of the
    other module looks: WORK's dict with ``changed`` false, or ``failed`` true and ``msg`` (prefixed
    with LABEL, the other module's name) when the options are invalid or WORK raised one of ERRORS
    (a tuple of exception types). The module's own work goes on either way, so one failure does not
    hide the other's evidence. None, and nothing attached, when the option is not set."""
    wanted = module.params.get(option)
    if wanted is None:
        return None
    validation = ArgumentSpecValidator(spec).validate(wanted)
    if validation.error_messages:
        why = '; '.join(validation.error_messages)
    else:
        try:
            answer = dict(work(module, validation.validated_parameters), changed=False)
            why = None
        except errors as exc:
            why = to_text(exc)
    if why is not None:
        answer = {'changed': False, 'failed': True, 'msg': '%s: %s' % (label, why)}
    module.exit_json = functools.partial(module.exit_json, **{option: answer})
    module.fail_json = functools.partial(module.fail_json, **{option: answer})
    return answer
