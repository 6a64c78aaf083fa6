"""The workflow files are checked (actionlint, with shellcheck on every `run:` script), scripts/stacks lists what
the workflows deploy and check, and the step runner the workflow scenarios use behaves as GitHub's runner does.

The scenarios themselves (deploy, clean and drifted stacks, repair, pull-request preview) run the real pulumi CLI:
tests/engine/test_workflows.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

from components.targets import SECRET_ENV_VARS
from tests.fixtures.engine import ROOT
from tests.fixtures.workflow_runner import WorkflowRunner, evaluate, interpolate

WORKFLOWS = ROOT / ".github" / "workflows"


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """scripts/build-actionlint: actionlint from its Go module (cached), and Debian's shellcheck when missing."""
    done = subprocess.run([str(ROOT / "scripts" / "build-actionlint")], stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        pytest.fail(f"scripts/build-actionlint failed (exit {done.returncode}); it needs Go 1.25+ on PATH "
                    "(https://go.dev/dl/) and shellcheck (apt-get install shellcheck)", pytrace=False)
    return Path(done.stdout.strip().splitlines()[-1])


def test_actionlint_and_shellcheck_find_nothing_in_the_workflows(actionlint):
    assert shutil.which("shellcheck"), "scripts/build-actionlint installs shellcheck; without it run: is unchecked"
    done = subprocess.run([str(actionlint), "-no-color"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_would_catch_a_broken_expression_and_a_shell_mistake(actionlint, tmp_path):
    """The check is live: a typo in an expression and an unquoted variable in a run: script are both reported."""
    workflow = yaml.safe_load((WORKFLOWS / "drift.yml").read_text())
    steps = workflow["jobs"]["drift"]["steps"]
    repair = next(step for step in steps if step.get("name", "").startswith("Repair"))
    repair["if"] = "${{ input.repair }}"          # the context is `inputs`
    repair["run"] = 'scripts/deploy $STACK --yes'  # SC2086: unquoted
    broken = tmp_path / ".github" / "workflows" / "drift.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False))
    done = subprocess.run([str(actionlint), "-no-color", "-oneline", str(broken)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert 'undefined variable "input"' in done.stdout
    assert "SC2086" in done.stdout


def test_the_docs_the_workflows_point_at_exist_with_their_section():
    """A team reads the workflow headers to set up CI: each docs page they name is there, with the section named."""
    named = {match for workflow in WORKFLOWS.glob("*.yml")
             for match in re.findall(r"\b(docs/[\w/.-]+\.md)(?:#([\w-]+))?", workflow.read_text())}
    assert ("docs/concepts/clerk-and-secrets.md", "secrets") in named
    for page, section in named:
        headings = re.findall(r"^#+ (.+)$", (ROOT / page).read_text(), re.M) if (ROOT / page).is_file() else []
        assert headings, f"{page} does not exist"
        assert not section or section in {slugify(heading, "-") for heading in headings}, f"{page}#{section}"


# --- scripts/stacks: what the matrices hold ---------------------------------------------------------------------

@pytest.fixture
def project_with_stacks(tmp_path) -> Path:
    """A git repository with scripts/stacks and stack files dev, staging, prod, prod-eu."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "stacks", root / "scripts" / "stacks")
    for stack in ("dev", "staging", "prod", "prod-eu"):
        (root / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (root / "README.md").write_text("docs\n")
    (root / "__main__.py").write_text("")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    return root


def stacks(root: Path, *args: str) -> list[str]:
    done = subprocess.run([str(root / "scripts" / "stacks"), *args], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def commit(root: Path, path: str, text: str) -> None:
    (root / path).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", path], cwd=root, check=True)


def test_every_stack_file_but_dev_is_a_ci_stack_and_a_push_deploys_all_but_production(project_with_stacks):
    # dev is each developer's own stack, in their .pulumi-state: never CI's.
    assert sorted(stacks(project_with_stacks, "all")) == ["prod", "prod-eu", "staging"]
    assert sorted(stacks(project_with_stacks, "push")) == ["staging"]


def test_a_pull_request_previews_the_stacks_its_change_can_affect(project_with_stacks):
    root = project_with_stacks
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    commit(root, "README.md", "more docs\n")
    assert stacks(root, "affected", base) == []
    for documentation in ("CONTRIBUTING.md", "mkdocs.yml", "docs/index.md"):
        (root / documentation).parent.mkdir(exist_ok=True)
        commit(root, documentation, "site\n")
        assert stacks(root, "affected", base) == [], documentation
    commit(root, "Pulumi.staging.yaml", "config: {a: 1}\n")
    commit(root, "Pulumi.dev.yaml", "config: {b: 2}\n")
    assert stacks(root, "affected", base) == ["staging"]
    commit(root, "__main__.py", "# code\n")
    assert sorted(stacks(root, "affected", base)) == ["prod", "prod-eu", "staging"]


def test_a_manual_run_names_one_existing_stack(project_with_stacks):
    assert stacks(project_with_stacks, "one", "prod") == ["prod"]
    for name in ("qa", "dev"):
        done = subprocess.run([str(project_with_stacks / "scripts" / "stacks"), "one", name],
                              cwd=project_with_stacks, capture_output=True, text=True)
        assert done.returncode == 2
        assert f"'{name}' is not a CI stack (CI stacks: " in done.stderr
        assert "dev excepted: dev is each developer's own" in done.stderr


# --- the step runner ---------------------------------------------------------------------------------------------

CONTEXT = {"github": {"event_name": "schedule", "event": {"inputs": {}}}, "inputs": {"repair": True},
           "needs": {"stacks": {"outputs": {"stacks": '["dev","staging"]'}}}, "steps": {}}


@pytest.mark.parametrize("expression, value", [
    ("github.event.inputs.stack || 'dev'", "dev"),
    ("github.event_name == 'SCHEDULE'", True),          # strings compare case-insensitively
    ("needs.stacks.outputs.stacks != '[]'", True),
    ("fromJSON(needs.stacks.outputs.stacks)", ["dev", "staging"]),
    ("inputs.repair", True),
    ("!inputs.repair", False),
    ("github.event_name != 'pull_request' && needs.stacks.outputs.stacks != '[]'", True),
    ("steps.missing.outputs.result", None),
])
def test_expressions_evaluate_as_on_github(expression, value):
    assert evaluate(expression, CONTEXT) == value


def test_interpolation_keeps_the_type_of_a_whole_expression_and_text_elsewhere():
    assert interpolate("${{ fromJSON(needs.stacks.outputs.stacks) }}", CONTEXT) == ["dev", "staging"]
    assert interpolate("stack ${{ github.event.inputs.stack || 'dev' }}!", CONTEXT) == "stack dev!"
    assert interpolate("${{ github.event_name }}/${{ inputs.repair }}", CONTEXT) == "schedule/true"
    with pytest.raises(ValueError, match="does not implement hashFiles"):
        evaluate("hashFiles('x')", CONTEXT)


def test_the_runner_passes_outputs_env_and_path_between_steps_and_skips_after_a_failure(tmp_path):
    workflow = tmp_path / "w.yml"
    workflow.write_text(yaml.safe_dump({"on": "push", "jobs": {"j": {
        "runs-on": "ubuntu-latest",
        "env": {"GREETING": "hello"},
        "outputs": {"said": "${{ steps.first.outputs.said }}"},
        "steps": [
            {"id": "first", "shell": "bash", "run":
                'echo "said=$GREETING" >> "$GITHUB_OUTPUT"; echo "LATER=set" >> "$GITHUB_ENV"\n'
                'mkdir -p "$RUNNER_TEMP/bin"; printf "#!/bin/sh\\necho tool\\n" > "$RUNNER_TEMP/bin/tool"\n'
                'chmod +x "$RUNNER_TEMP/bin/tool"; echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"'},
            {"name": "second", "shell": "bash", "env": {"SAID": "${{ steps.first.outputs.said }}"},
             "run": 'test "$SAID/$LATER/$(tool)" = "hello/set/tool"; echo "# summary" >> "$GITHUB_STEP_SUMMARY"'},
            {"name": "fails", "run": "false; echo not reached"},
            {"name": "skipped", "run": "echo no"},
            {"name": "after failure", "if": "${{ failure() }}", "run": "echo cleanup"},
        ]}}}))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    job = WorkflowRunner(workflow, workspace, tmp_path, actions={},
                         base_env={"PATH": "/usr/bin:/bin"}).run_job("j", event_name="push")
    assert [step.outcome for step in job.steps] == ["success", "success", "failure", "skipped", "success"]
    assert job.step("fails").exit_code == 1 and "not reached" not in job.step("fails").log
    assert job.outputs == {"said": "hello"}
    assert job.summary == "# summary\n"
    assert job.conclusion == "failure"


def test_ci_run_lints_the_workflows_and_builds_the_docs_first_then_is_exactly_the_test_command_and_its_exit_code(
        tmp_path):
    root = tmp_path / "repo"
    (root / ".ci").mkdir(parents=True)
    (root / "scripts").mkdir()
    shutil.copy(ROOT / ".ci" / "run", root / ".ci" / "run")
    calls = tmp_path / "calls"
    stubs = {
        "scripts/build-actionlint": f'#!/bin/sh\necho "building" >&2\necho "{root}/actionlint"\n',
        "actionlint": f'#!/bin/sh\necho "actionlint $*" >> "{calls}"\nexit "${{ACTIONLINT_EXIT:-0}}"\n',
        "scripts/docs-build": f'#!/bin/sh\necho "docs-build $*" >> "{calls}"\nexit "${{DOCS_EXIT:-0}}"\n',
        "scripts/test": f'#!/bin/sh\necho "test $*" >> "{calls}"\nexit 3\n',
    }
    for path, text in stubs.items():
        (root / path).write_text(text)
        (root / path).chmod(0o755)

    done = subprocess.run([str(root / ".ci" / "run")], capture_output=True, text=True)
    assert done.returncode == 3  # scripts/test's own exit code
    assert calls.read_text().splitlines() == ["actionlint -no-color", "docs-build ", "test -q"]

    calls.unlink()
    done = subprocess.run([str(root / ".ci" / "run")], capture_output=True, text=True,
                          env={**os.environ, "ACTIONLINT_EXIT": "1"})
    assert done.returncode == 1
    assert calls.read_text().splitlines() == ["actionlint -no-color"]  # a workflow error stops CI before the tests

    calls.unlink()
    done = subprocess.run([str(root / ".ci" / "run")], capture_output=True, text=True,
                          env={**os.environ, "DOCS_EXIT": "1"})
    assert done.returncode == 1
    assert calls.read_text().splitlines() == ["actionlint -no-color", "docs-build "]  # a broken link stops CI too


def _workflow(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, None) or workflow.get("on")  # YAML 1.1 reads the key `on` as true
    return workflow


def test_one_job_per_stack_never_cancelled_and_never_two_at_once_on_one_stack():
    drift, deploy = _workflow("drift.yml"), _workflow("deploy.yml")
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}
    assert set(deploy["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert deploy["on"]["push"] == {"branches": ["main"]}
    for job in (drift["jobs"]["drift"], deploy["jobs"]["deploy"], deploy["jobs"]["preview"]):
        # The matrix is what scripts/stacks found, and one stack's failure does not cancel the others.
        assert job["strategy"] == {"fail-fast": False,
                                   "matrix": {"stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"}}
        # Each stack's secrets come from the GitHub environment named after it.
        assert job["environment"]["name"] == "${{ matrix.stack }}"
    for job in (drift["jobs"]["drift"], deploy["jobs"]["deploy"]):
        assert job["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
    # A deploy creates a GitHub deployment (so an environment's required reviewers gate it); checks do not.
    assert "deployment" not in deploy["jobs"]["deploy"]["environment"]
    assert drift["jobs"]["drift"]["environment"]["deployment"] is False


# --- the stack's CLERK_HASURA_* secrets -----------------------------------------------------------------------

#: Every job that runs the Pulumi program (preview, `pulumi up` through scripts/deploy, the drift check's repair and
#: preview), which reads the CLERK_HASURA_* variables (components.targets.SECRET_ENV_VARS).
PROGRAM_JOBS = (("deploy.yml", "preview"), ("deploy.yml", "deploy"), ("drift.yml", "drift"))


def test_the_jobs_running_the_program_pass_exactly_the_clerk_hasura_secrets_the_docs_document():
    wanted = {var: f"${{{{ secrets.{var} }}}}" for var in SECRET_ENV_VARS.values()}
    secrets_table = ROOT.joinpath("docs/concepts/clerk-and-secrets.md").read_text().split("## Secrets", 1)[1].split(
        "\n## ", 1)[0]
    assert all(f"`{var}`" in secrets_table for var in wanted)
    for name, job_id in PROGRAM_JOBS:
        env = _workflow(name)["jobs"][job_id]["env"]
        assert {key: value for key, value in env.items() if key.startswith("CLERK_HASURA_")} == wanted, job_id
    for name in ("deploy.yml", "drift.yml"):  # the job listing stacks has no environment and gets none
        assert "CLERK_HASURA_" not in yaml.safe_dump(_workflow(name)["jobs"]["stacks"])


def test_a_clerk_hasura_secret_of_the_stacks_github_environment_reaches_the_deploy_step(tmp_path):
    """The deploy job's steps as a runner runs them, scripts/deploy replaced by a script recording its environment:
    the staging environment's secret arrives, another environment's does not, a missing one is empty."""
    workspace = tmp_path / "workspace"
    (workspace / "scripts").mkdir(parents=True)
    deploy = workspace / "scripts" / "deploy"
    deploy.write_text('#!/bin/sh\nenv -0 > "$GITHUB_WORKSPACE/deploy-environment"\n')
    deploy.chmod(0o755)
    provided = {action: (lambda step: None) for action in ("actions/checkout", "actions/setup-python", "pulumi/actions")}
    runner = WorkflowRunner(WORKFLOWS / "deploy.yml", workspace, tmp_path / "runs", actions=provided,
                            base_env={"PATH": "/usr/bin:/bin"})
    job = runner.run_job("deploy", event_name="workflow_dispatch", inputs={"stack": "staging"},
                         matrix={"stack": "staging"}, needs={"stacks": {"stacks": '["staging"]'}},
                         secrets={"PULUMI_BACKEND_URL": "s3://state/clerk-hasura"},
                         environments={"staging": {"PULUMI_CONFIG_PASSPHRASE": "staging-passphrase",
                                                   "CLERK_HASURA_NHOST_TOKEN": "nhp_staging-token"},
                                       "prod": {"CLERK_HASURA_CLERK_SECRET_KEY": "sk_live_prod-key"}})
    assert job.conclusion == "success", job.log
    environment = dict(item.split("=", 1) for item in
                       (workspace / "deploy-environment").read_text().split("\0") if item)
    assert environment["CLERK_HASURA_NHOST_TOKEN"] == "nhp_staging-token"
    assert environment["PULUMI_CONFIG_PASSPHRASE"] == "staging-passphrase"
    assert environment["CLERK_HASURA_CLERK_SECRET_KEY"] == ""  # prod's secret stays with prod's jobs
    assert environment["CLERK_HASURA_DATABASE_URL"] == ""  # not created: empty, which the settings ignore
