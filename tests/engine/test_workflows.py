"""The workflows' steps, run in order as a runner runs them (tests/fixtures/workflow_runner.py), with the real pulumi
CLI and its Python language host (scripts/build-pulumi), against a stack on the `existing` target: the Hasura
double trusting the Clerk double, state on a local file backend standing for the team's PULUMI_BACKEND_URL.

`uses:` steps do not run the actions; each is replaced by what it provides here:
- actions/checkout: the workspace already is a fresh clone of this repository (at its last commit);
- actions/setup-python: `python`/`python3` on PATH (this machine's Python 3.11);
- pulumi/actions: the pulumi CLI built by scripts/build-pulumi on PATH, and with `command:` it runs that command
  as the action does (`pulumi <command> --stack <stack-name>`, `--refresh`/`--diff` when asked, failing on a
  non-zero exit), keeping the output it would post on the pull request;
- `gh` (a command, not an action) is tests/fixtures/gh_stub.py, which keeps the repository's issues in a file.

Secrets are as the README tells a team to create them: PULUMI_BACKEND_URL a repository secret, the passphrase (and any
CLERK_HASURA_* secret) in the GitHub environment named after the stack.

Scenarios: a push deploys a stack and the scheduled check finds it in sync; live drift fails the check with the
report and one issue that stays one while the drift stays; a repair run repairs and closes it; a stack that cannot
be checked fails as such, never as in sync; a pull request previews the stacks it can affect; a CLERK_HASURA_*
secret kept in the stack's GitHub environment reaches the deploy and the drift check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.auth.jwt_secret import resolve_jwt_secret
from components.targets import load_settings
from components.hasura.client import HasuraClient
from tests.fixtures.engine import ROOT
from tests.fixtures.workflow_runner import ActionContext, ActionFailed, JobResult, WorkflowRunner

ADMIN_SECRET = "workflow-admin-secret-0123456789"
PASSPHRASE = "workflow-test-passphrase"
STACK = "staging"
USERS_TABLE = {"schema": "public", "name": "users"}
#: git's empty tree: as the base of a pull request, every file of the repository is a change (code included).
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
GH_STUB = ROOT / "tests" / "fixtures" / "gh_stub.py"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def jq() -> str:
    """jq, which the `gh` stand-in uses for `--jq` (gh has it built in): Debian's, installed when missing."""
    if not shutil.which("jq") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run([ROOT / "scripts" / "apt-install", "jq"], capture_output=True)
    if not shutil.which("jq"):
        pytest.fail("jq is not installed; the gh stand-in needs it: apt-get install jq", pytrace=False)
    return shutil.which("jq")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A fresh clone, as actions/checkout leaves it; shared by this module's scenarios (each on its own backend),
    so the project is installed into its .venv once."""
    clone = tmp_path_factory.mktemp("runner") / "clerk-hasura"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


@pytest.fixture
def ci(workspace, jq, pulumi_bin, tmp_path, clerk_double, hasura_double_factory, postgres_database_url):
    """Everything one scenario needs: the stack's config in the workspace, its backend, the doubles, the runner's
    environment, the `uses:` stand-ins and the issues."""
    return CiStack(workspace, pulumi_bin, tmp_path, clerk_double, hasura_double_factory, postgres_database_url)


class CiStack:
    def __init__(self, workspace, pulumi_bin, tmp_path, clerk, hasura_factory, database_url):
        self.workspace, self.pulumi_bin, self.tmp, self.clerk = workspace, pulumi_bin, tmp_path, clerk
        self.backend = f"file://{tmp_path / 'backend'}"
        (tmp_path / "backend").mkdir()
        self.issues_file = tmp_path / "issues.json"
        self.pr_comments: list[str] = []
        self.runs = 0
        config = {"target": "existing", "clerk": {"publishableKey": clerk.publishable_key,
                                                 "jwksUrl": clerk.jwks_url, "apiUrl": clerk.url}}
        settings = load_settings({**config, "hasura": {"publicUrl": "http://127.0.0.1:1"}}, environ={})
        self.hasura = hasura_factory(jwt_secret=resolve_jwt_secret(settings).value, admin_secret=ADMIN_SECRET,
                                     env={"PG_DATABASE_URL": database_url})
        self.hasura.wait_for_jwks()
        config["hasura"] = {"publicUrl": self.hasura.url}
        self.stack_file = workspace / f"Pulumi.{STACK}.yaml"
        self.stack_file.write_text(yaml.safe_dump({"config": {f"clerk-hasura:{k}": v for k, v in config.items()}}))

        tools = tmp_path / "tools"
        tools.mkdir()
        (tools / "gh").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{GH_STUB}" "$@"\n')
        (tools / "gh").chmod(0o755)
        self.python_dir = tmp_path / "setup-python"
        self.python_dir.mkdir()
        for name in ("python", "python3"):
            (self.python_dir / name).symlink_to(sys._base_executable)
        self.env = {
            # The runner's own environment: system tools and gh; no pulumi and no Python until the actions add them.
            "PATH": os.pathsep.join([str(tools), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": os.environ["HOME"],
            "PULUMI_HOME": str(tmp_path / "pulumi-home"),
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "GH_STUB_STATE": str(self.issues_file),
        }
        self.repository_secrets = {"PULUMI_BACKEND_URL": self.backend}
        self.environment_secrets = {"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}
        self.actions = {"actions/checkout": self.checkout, "actions/setup-python": self.setup_python,
                        "pulumi/actions": self.pulumi_action}

    # --- what the `uses:` steps provide -------------------------------------------------------------------------
    def checkout(self, step: ActionContext) -> None:
        assert (step.workspace / ".git").is_dir()

    def setup_python(self, step: ActionContext) -> dict[str, str]:
        assert step.inputs["python-version"] == "3.11"
        step.path_entries.insert(0, str(self.python_dir))
        return {"python-version": "3.11"}

    def pulumi_action(self, step: ActionContext) -> None:
        step.path_entries.insert(0, str(self.pulumi_bin))
        command = step.inputs.get("command")
        if not command:
            return
        args = ["pulumi", command, "--stack", step.inputs["stack-name"], "--non-interactive", "--color", "never"]
        args += ["--refresh"] if step.inputs.get("refresh") else []
        args += ["--diff"] if step.inputs.get("diff") else []
        done = step.run(args, timeout=600)
        if step.inputs.get("comment-on-pr"):
            self.pr_comments.append(done.stdout)
        if done.returncode != 0:
            raise ActionFailed(done.returncode, done.stdout + done.stderr)

    # --- a user's commands and the runs -------------------------------------------------------------------------
    def shell(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**self.env, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PULUMI_BACKEND_URL": self.backend,
               "PATH": os.pathsep.join([str(self.pulumi_bin), str(self.python_dir), self.env["PATH"]])}
        done = subprocess.run(list(command), cwd=self.workspace, env=env, capture_output=True, text=True,
                              timeout=600)
        assert not check or done.returncode == 0, done.stdout + done.stderr
        return done

    def set_secrets(self, *, admin_secret_in_config: bool = True) -> None:
        """What the README tells a team to do once per stack: create it, then store its secrets encrypted."""
        self.shell("scripts/deploy", STACK, "--init")
        if admin_secret_in_config:
            self.shell("pulumi", "config", "set", "--secret", "--stack", STACK, "hasuraAdminSecret", ADMIN_SECRET)
        self.shell("pulumi", "config", "set", "--secret", "--stack", STACK, "clerkSecretKey", self.clerk.secret_key)

    def run(self, workflow: str, job: str, **options) -> JobResult:
        self.runs += 1
        runner = WorkflowRunner(self.workspace / ".github" / "workflows" / workflow, self.workspace,
                                self.tmp / "runs" / str(self.runs), actions=self.actions, base_env=self.env)
        result = runner.run_job(job, secrets=self.repository_secrets, environments={STACK: self.environment_secrets},
                                **options)
        # Where the time goes (shown with pytest -rP); never asserted.
        print(f"{workflow} {job}: " + "; ".join(f"{step.name[:48]} {step.seconds:.1f} s" for step in result.steps))
        return result

    def issues(self) -> list[dict]:
        return json.loads(self.issues_file.read_text()) if self.issues_file.exists() else []

    def drift_check(self, **options) -> JobResult:
        stacks = self.run("drift.yml", "stacks", **options)
        assert stacks.conclusion == "success", stacks.log
        assert STACK in json.loads(stacks.outputs["stacks"])
        return self.run("drift.yml", "drift", matrix={"stack": STACK}, needs={"stacks": stacks.outputs}, **options)

    def set_live_select_permission(self, change: dict) -> dict:
        """What someone clicking in the console does; returns the permission as it was."""
        with HasuraClient(self.hasura.url, ADMIN_SECRET) as console:
            [table] = console.export_metadata().metadata["sources"][0]["tables"]
            [select] = table["select_permissions"]
            console.metadata("pg_drop_select_permission", {"table": USERS_TABLE, "role": "user"})
            console.metadata("pg_create_select_permission", {"table": USERS_TABLE, "role": "user",
                                                             "permission": {**select["permission"], **change}})
        return select["permission"]


@pytest.fixture(autouse=True)
def _remove_the_stack_file(workspace):
    yield
    (workspace / f"Pulumi.{STACK}.yaml").unlink(missing_ok=True)


def test_a_push_deploys_the_stack_and_the_scheduled_check_finds_it_in_sync(ci):
    ci.set_secrets()
    stacks = ci.run("deploy.yml", "stacks", event_name="push")
    assert stacks.conclusion == "success", stacks.log
    assert json.loads(stacks.outputs["stacks"]) == [STACK]  # every Pulumi.<stack>.yaml but dev and production

    deploy = ci.run("deploy.yml", "deploy", event_name="push", matrix={"stack": STACK},
                    needs={"stacks": stacks.outputs})
    assert deploy.conclusion == "success", deploy.log
    assert f"Updating ({STACK})" in deploy.step("Deploy").log
    assert f"### Deploy of stack `{STACK}`: smoke check" in deploy.summary
    assert "anonymous-refused" in deploy.summary and "FAIL" not in deploy.summary
    outputs = json.loads(ci.shell("pulumi", "stack", "output", "--json", "--stack", STACK).stdout)
    assert outputs["graphqlUrl"] == f"{ci.hasura.url}/v1/graphql"

    check = ci.drift_check(event_name="schedule")
    assert check.conclusion == "success", check.log
    assert check.step("hasura").outputs == {"result": "in-sync"}
    assert check.step("pulumi").outputs == {"result": "in-sync"}
    assert check.step("Repair").outcome == "skipped"
    assert f"### Drift check of stack `{STACK}`: **in-sync**" in check.summary
    assert ci.issues() == []


def test_drift_fails_the_check_with_the_report_in_one_issue_and_a_repair_run_closes_it(ci):
    ci.set_secrets()
    ci.shell("scripts/deploy", STACK, "--yes", "--non-interactive")
    wanted = ci.set_live_select_permission({"columns": ["id"]})

    drifted = ci.drift_check(event_name="schedule")
    assert drifted.conclusion == "failure"
    assert drifted.step("hasura").outputs == {"result": "drift"}
    assert drifted.step("pulumi").outputs == {"result": "drift"}  # exit 7 of preview --expect-no-changes
    report = drifted.step("Report")
    assert report.outcome == "failure" and report.exit_code == 1
    assert f"drift in stack {STACK}; repair with 'scripts/deploy {STACK}'" in report.log
    [issue] = ci.issues()
    assert issue["title"] == f"Drift in stack {STACK}" and issue["state"] == "open"
    assert "role user › select permission" in issue["body"]  # clerk-hasura drift's report
    assert "pulumi preview --refresh --expect-no-changes --diff" in issue["body"]
    assert ADMIN_SECRET not in issue["body"] and ADMIN_SECRET not in drifted.summary

    still = ci.drift_check(event_name="schedule")
    assert still.conclusion == "failure"
    [issue] = ci.issues()
    assert len(issue["comments"]) == 1 and "role user › select permission" in issue["comments"][0]

    repaired = ci.drift_check(event_name="workflow_dispatch", inputs={"stack": STACK, "repair": True})
    assert repaired.conclusion == "success", repaired.log
    assert repaired.step("Repair").outcome == "success"
    assert repaired.step("hasura").outputs == {"result": "in-sync"}
    assert repaired.step("pulumi").outputs == {"result": "in-sync"}
    [issue] = ci.issues()
    assert issue["state"] == "closed" and "is in sync again" in issue["comments"][-1]
    with HasuraClient(ci.hasura.url, ADMIN_SECRET) as client:
        [table] = client.export_metadata().metadata["sources"][0]["tables"]
    assert table["select_permissions"][0]["permission"] == wanted

    # A stack that cannot be checked is reported as such: exit 2, never "in sync", its issue left alone.
    ci.hasura.stop()
    unknown = ci.drift_check(event_name="schedule")
    assert unknown.conclusion == "failure"
    assert unknown.step("hasura").outputs == {"result": "error"}
    assert unknown.step("Report").exit_code == 2
    assert f"### Drift check of stack `{STACK}`: **error**" in unknown.summary
    assert [issue["state"] for issue in ci.issues()] == ["closed"]


def test_a_pull_request_previews_the_stacks_it_can_affect_with_the_plan_for_the_pull_request(ci):
    ci.set_secrets()
    ci.shell("scripts/deploy", STACK, "--yes", "--non-interactive")
    stacks = ci.run("deploy.yml", "stacks", event_name="pull_request",
                    event={"pull_request": {"base": {"sha": EMPTY_TREE}}})
    assert stacks.conclusion == "success", stacks.log
    assert json.loads(stacks.outputs["stacks"]) == [STACK]  # a change to the code can affect every CI stack
    assert ci.run("deploy.yml", "deploy", event_name="pull_request", matrix={"stack": STACK},
                  needs={"stacks": stacks.outputs}).steps == []  # a pull request deploys nothing

    preview = ci.run("deploy.yml", "preview", event_name="pull_request", matrix={"stack": STACK},
                     needs={"stacks": stacks.outputs})
    assert preview.conclusion == "success", preview.log
    [comment] = ci.pr_comments
    assert "Previewing update (staging)" in comment

    ci.hasura.stop()  # a preview that cannot refresh fails the job
    failed = ci.run("deploy.yml", "preview", event_name="pull_request", matrix={"stack": STACK},
                    needs={"stacks": stacks.outputs})
    assert failed.conclusion == "failure"


def test_a_clerk_hasura_secret_kept_in_the_stacks_github_environment_reaches_the_deploy_and_the_drift_check(ci):
    """The stack's admin secret only as the environment secret CLERK_HASURA_HASURA_ADMIN_SECRET, not in
    Pulumi.staging.yaml. The existing target refuses a stack without one, so the deploy passes only when it arrives."""
    ci.set_secrets(admin_secret_in_config=False)
    stacks = ci.run("deploy.yml", "stacks", event_name="workflow_dispatch", inputs={"stack": STACK})
    assert stacks.conclusion == "success", stacks.log

    refused = ci.run("deploy.yml", "deploy", event_name="workflow_dispatch", inputs={"stack": STACK},
                     matrix={"stack": STACK}, needs={"stacks": stacks.outputs})
    assert refused.conclusion == "failure"
    assert "CLERK_HASURA_HASURA_ADMIN_SECRET" in refused.step("Deploy").log  # not there yet: the fix is named

    ci.environment_secrets["CLERK_HASURA_HASURA_ADMIN_SECRET"] = ADMIN_SECRET
    deploy = ci.run("deploy.yml", "deploy", event_name="workflow_dispatch", inputs={"stack": STACK},
                    matrix={"stack": STACK}, needs={"stacks": stacks.outputs})
    assert deploy.conclusion == "success", deploy.log
    assert "anonymous-refused" in deploy.summary and "FAIL" not in deploy.summary
    assert ADMIN_SECRET not in deploy.log + deploy.summary
    outputs = json.loads(ci.shell("pulumi", "stack", "output", "--json", "--show-secrets", "--stack", STACK).stdout)
    assert outputs["hasuraAdminSecret"] == ADMIN_SECRET  # what the program read from the deploy step's environment
    config = json.loads(ci.shell("pulumi", "config", "--json", "--stack", STACK).stdout)
    assert "clerk-hasura:hasuraAdminSecret" not in config

    # The drift job's preview runs the program too: without the secret it could not check the stack.
    check = ci.drift_check(event_name="schedule")
    assert check.conclusion == "success", check.log
    assert check.step("hasura").outputs == {"result": "in-sync"}
    assert check.step("pulumi").outputs == {"result": "in-sync"}
