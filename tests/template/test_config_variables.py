"""The template and the Rust configuration readers agree on every environment variable.

Each function crate declares, in ``functions/<f>/src/config.rs``, the variables its
``Config::from_vars`` reads::

    pub const VARIABLES: &[&str] = &["BRAND", "LOG_LEVEL", ...];

These tests hold three things together, so a variable the code reads but the template forgets
(or the reverse) fails here rather than at a cold start in AWS:

- ``VARIABLES`` is exactly what the config reader reads: every ``vars.<method>("NAME")`` call in
  the crate's ``config.rs`` and in the shared ``CommonConfig`` (``shared/src/config.rs``);
- ``VARIABLES`` is exactly the set of variables the template gives that function (its
  ``Environment.Variables`` merged over ``Globals``), the function found by its ``CodeUri``;
- ``VARIABLES`` is ``EXPECTED_ENV`` of test_template.py, the list the template rules use.

Run from the repository root: ``AWS_DEFAULT_REGION=eu-west-1 .venv/bin/pytest tests/template``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from test_template import EXPECTED_ENV, ROOT, env_vars, functions, load_template

SHARED_CONFIG = ROOT / "shared" / "src" / "config.rs"

_VARIABLES = re.compile(r"pub const VARIABLES: &\[&str\] = &\[(?P<body>.*?)\];", re.S)
_STRING = re.compile(r'"([^"\\]*)"')
# `vars.required("X")`, `vars\n    .optional("X")`, `vars.parsed_or("X", 7)`, ...
_READ = re.compile(r'\bvars\s*\.\s*[a-z_]+(?:::<[^>]*>)?\(\s*"([A-Z][A-Z0-9_]*)"')


def _source_without_tests(path: Path) -> str:
    """The file up to its `#[cfg(test)]` module: tests read made-up names."""
    return path.read_text().split("#[cfg(test)]", 1)[0]


def declared_variables(config_rs: Path) -> list[str]:
    """The names listed in the crate's `VARIABLES` const."""
    match = _VARIABLES.search(config_rs.read_text())
    if match is None:
        raise AssertionError(f"{config_rs}: no `pub const VARIABLES: &[&str] = &[...]`")
    return _STRING.findall(match.group("body"))


# `vars.queues(&[(Destination::X, "X_QUEUE_URL"), ...])`: a publishing stage's output queues.
_QUEUES_CALL = re.compile(r"\bvars\s*\.\s*queues\(\s*&\[(?P<body>.*?)\]", re.S)
# What `Vars::queues` reads itself (`self.required("DEAD_LETTER_QUEUE_URL")`), in its own body.
_QUEUES_FN = re.compile(r"pub fn queues\((?P<body>.*?)\n    \}\n", re.S)
_SELF_READ = re.compile(r'\bself\s*\.\s*[a-z_]+(?:::<[^>]*>)?\(\s*"([A-Z][A-Z0-9_]*)"')


def _queue_variables(source: str) -> set[str]:
    """The names a crate reads through `vars.queues(...)`: the output queues it lists, and what
    `Vars::queues` in shared/src/config.rs reads for every caller (the dead-letter queue)."""
    calls = list(_QUEUES_CALL.finditer(source))
    if not calls:
        return set()
    listed = {name for call in calls for name in _STRING.findall(call.group("body"))}
    shared = _QUEUES_FN.search(_source_without_tests(SHARED_CONFIG))
    if shared is None:
        raise AssertionError(f"{SHARED_CONFIG}: no `pub fn queues(`")
    return listed | set(_SELF_READ.findall(shared.group("body")))


def read_variables(config_rs: Path) -> set[str]:
    """The names the crate's config reader reads, the common ones included."""
    source = _source_without_tests(config_rs)
    return (
        set(_READ.findall(source))
        | _queue_variables(source)
        | set(_READ.findall(_source_without_tests(SHARED_CONFIG)))
    )


def crate_of(fn: dict) -> Path:
    """The crate a template function is built from (its `CodeUri`)."""
    return ROOT / fn["Properties"]["CodeUri"]


def check_config_variables(t: dict) -> list[str]:
    """Problems between each function's `VARIABLES`, what its code reads and its template
    environment (empty when they agree)."""
    errors = []
    for lid, fn in sorted(functions(t).items()):
        config_rs = crate_of(fn) / "src" / "config.rs"
        declared = declared_variables(config_rs)
        if len(declared) != len(set(declared)):
            errors.append(f"{lid}: VARIABLES lists a name twice: {declared}")
        declared_set = set(declared)
        read = read_variables(config_rs)
        if read != declared_set:
            errors.append(
                f"{lid}: {config_rs.relative_to(ROOT)} reads {sorted(read - declared_set)} "
                f"not in VARIABLES, and VARIABLES has {sorted(declared_set - read)} it never reads"
            )
        template_env = set(env_vars(t, lid))
        if template_env != declared_set:
            errors.append(
                f"{lid}: the template does not set {sorted(declared_set - template_env)} "
                f"and sets {sorted(template_env - declared_set)} the code does not read"
            )
        if set(EXPECTED_ENV.get(lid, [])) != declared_set:
            errors.append(f"{lid}: EXPECTED_ENV in test_template.py differs from VARIABLES")
    return errors


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_every_function_reads_exactly_what_the_template_sets(template: dict) -> None:
    assert len(functions(template)) == 6
    assert check_config_variables(template) == []


def test_the_reader_finds_every_call_shape() -> None:
    source = '''
        brand: vars.required("BRAND")?,
        tag: vars
            .optional("TIM_FILTER_TAG")
            .unwrap_or_default(),
        days: vars.parsed_or("TIM_TTL_GRACE_DAYS", 7)?,
        filter: vars.json_or_default::<FredFilter>("FRED_CONFIG")?,
    '''
    assert set(_READ.findall(source)) == {
        "BRAND", "TIM_FILTER_TAG", "TIM_TTL_GRACE_DAYS", "FRED_CONFIG",
    }


@pytest.mark.parametrize("lid, name", [("Fred", "DES_URL"), ("Bcg", "OSG_API_KEY_SECRET_ARN"), ("Msq", "MSQ_TABLE")])
def test_a_variable_the_template_forgets_is_caught(template: dict, lid: str, name: str) -> None:
    broken = copy.deepcopy(template)
    del broken["Resources"][lid]["Properties"]["Environment"]["Variables"][name]
    errors = check_config_variables(broken)
    assert any(lid in e and name in e and "does not set" in e for e in errors), errors


def test_a_global_variable_the_template_forgets_is_caught(template: dict) -> None:
    broken = copy.deepcopy(template)
    del broken["Globals"]["Function"]["Environment"]["Variables"]["LOG_LEVEL"]
    errors = check_config_variables(broken)
    assert len([e for e in errors if "LOG_LEVEL" in e]) == 6, errors


def test_a_variable_only_the_template_sets_is_caught(template: dict) -> None:
    broken = copy.deepcopy(template)
    broken["Resources"]["Des"]["Properties"]["Environment"]["Variables"]["DES_DEBUG"] = "1"
    errors = check_config_variables(broken)
    assert any("Des" in e and "DES_DEBUG" in e for e in errors), errors


def test_a_variable_read_but_not_declared_is_caught(tmp_path: Path) -> None:
    config_rs = tmp_path / "config.rs"
    config_rs.write_text(
        'pub const VARIABLES: &[&str] = &["BRAND", "LOG_LEVEL", "METRICS_NAMESPACE", "A"];\n'
        'fn f(vars: &Vars) { vars.required("A"); vars.url("B"); }\n'
        '#[cfg(test)]\nmod tests { fn g(vars: &Vars) { vars.required("TEST_ONLY"); } }\n'
    )
    assert declared_variables(config_rs) == ["BRAND", "LOG_LEVEL", "METRICS_NAMESPACE", "A"]
    assert read_variables(config_rs) == {"BRAND", "LOG_LEVEL", "METRICS_NAMESPACE", "A", "B"}
