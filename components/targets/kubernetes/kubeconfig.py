"""Before anything is created: the kubeconfig the provider will read is there and holds the context it will use.

The provider finds out only once it configures, after the shared part may have created resources; and at preview
an unreachable or misnamed cluster is not an error to it. The kubeconfig is read as `kubectl` reads it: `kubeconfig`,
else every file listed in `KUBECONFIG`, else ~/.kube/config; the first file that names a current context wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from components.errors import ClerkHasuraError
from components.targets.kubernetes.settings import KubernetesSettings

#: Set in every pod: with no kubeconfig at all, the provider uses the pod's service account (in-cluster config).
IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"


class KubeconfigProblem(ClerkHasuraError):
    """The kubeconfig or the context the `kubernetes` target would use is missing."""


def preflight(settings: KubernetesSettings, environ: Mapping[str, str]) -> None:
    if settings.kubeconfig is not None:
        paths = [Path(os.path.expanduser(settings.kubeconfig))]
        if not paths[0].is_file():
            raise KubeconfigProblem(f"kubernetes.kubeconfig: there is no file {paths[0]}. Fix: give the path of "
                                    "your kubeconfig, or remove the key to use the ambient one (KUBECONFIG, else "
                                    "~/.kube/config)")
    else:
        listed = [Path(p) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
        paths = [p for p in listed or [Path.home() / ".kube" / "config"] if p.is_file()]
        if not paths:
            if environ.get(IN_CLUSTER_ENV) and settings.context is None:
                return
            where = f"KUBECONFIG ({environ['KUBECONFIG']})" if listed else "~/.kube/config"
            raise KubeconfigProblem(f"kubernetes.kubeconfig: unset, and {where} names no file. Fix: set "
                                    "kubernetes.kubeconfig to your kubeconfig's path, or export KUBECONFIG")
    contexts: list[str] = []
    current = None
    for path in paths:
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise KubeconfigProblem(f"kubernetes.kubeconfig: {path} is not a readable kubeconfig "
                                    f"({type(error).__name__}). Fix: point it at a valid kubeconfig file") from None
        contexts += [entry.get("name") for entry in document.get("contexts") or [] if isinstance(entry, dict)]
        current = current or document.get("current-context") or None
    shown = ", ".join(str(p) for p in paths)
    wanted = settings.context or current
    if wanted is None:
        raise KubeconfigProblem(f"kubernetes.context: {shown} selects no current context. Fix: set "
                                f"kubernetes.context to one of: {', '.join(contexts) or '(none defined)'}")
    if wanted not in contexts:
        which = "kubernetes.context" if settings.context else f"kubernetes.context (unset; current-context of {shown})"
        raise KubeconfigProblem(f"{which}: {wanted!r} is not a context of {shown}. Fix: set kubernetes.context to "
                                f"one of: {', '.join(contexts) or '(none defined)'}")
