"""Postgres in the cluster, for dev and test stacks (production: `databaseUrl`, a managed database).

One StatefulSet pod with a volume claim from its template. The claim holds the data, so nothing deletes it:
the StatefulSet keeps its claims when it is deleted or scaled down (`persistentVolumeClaimRetentionPolicy`), and
Pulumi never deletes the StatefulSet (`retain_on_delete`); a later deploy adopts the claim `data-postgres-0`.
The password is set on every start from the Secret (`components.targets.shared.postgres_entrypoint`), so the retained data
keeps working with a changed `postgresPassword`; and a change while it runs is set on the running server by a
second container that follows the mounted Secret (`PASSWORD_FOLLOWER_SCRIPT`): a rotation restarts nothing, so
Hasura's open connections keep answering while its pods roll to the new password.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as kubernetes

from components.config.containers import PostgresSettings
from components.targets.kubernetes.objects import INPUTS_DIGEST_ANNOTATION, Placement, secret_digest
from components.targets.kubernetes.settings import PostgresStorageSettings
from components.targets.shared.postgres_entrypoint import ENTRYPOINT_SCRIPT, PASSWORD_SYNCED_MARKER

#: The headless Service (and StatefulSet) name; Hasura reaches Postgres at `postgres.<namespace>.svc`.
SERVICE_NAME = "postgres"
PORT = 5432
#: The claim template's name; the claim of pod 0 is `data-postgres-0`.
VOLUME_NAME = "data"
MOUNT_PATH = "/var/lib/postgresql/data"
#: A directory below the mount: a fresh volume's root may hold `lost+found`, and initdb wants an empty directory.
PGDATA = f"{MOUNT_PATH}/pgdata"
SCRIPT_DIRECTORY = "/clerk-hasura"
SECRET_DIRECTORY = "/clerk-hasura-secret"
PASSWORD_KEY = "POSTGRES_PASSWORD"
#: The `postgres` user of the official image (Debian variant), which owns the data directory.
POSTGRES_UID = 999


PASSWORD_FOLLOWER_SCRIPT = f"""#!/bin/sh
# clerk-hasura: set a changed postgresPassword on the running server. The kubelet refreshes the mounted Secret
# (within about a minute of the deploy); the entrypoint already set the value this pod started with.
set -u
file={SECRET_DIRECTORY}/{PASSWORD_KEY}
applied=$(cat "$file")
while sleep 2; do
  current=$(cat "$file") || continue
  [ "$current" = "$applied" ] && continue
  # The password reaches psql through its environment, never a command line other processes of the pod can read.
  if NEW_PASSWORD=$current psql -q -v ON_ERROR_STOP=1 -v role="$POSTGRES_USER" -h 127.0.0.1 -U "$POSTGRES_USER" \\
      -d "$POSTGRES_DB" >/dev/null <<'SQL'
\\getenv password NEW_PASSWORD
ALTER ROLE :"role" WITH PASSWORD :'password';
SQL
  then
    applied=$current
    echo "clerk-hasura: password of role $POSTGRES_USER changed to the Secret's new value" >&2
  fi
done
"""


@dataclass(frozen=True)
class PostgresArgs:
    settings: PostgresSettings
    storage: PostgresStorageSettings
    password: pulumi.Input[str]
    """Secret."""


@dataclass(frozen=True)
class InClusterPostgres:
    statefulset: kubernetes.apps.v1.StatefulSet
    url: pulumi.Output[str]
    """Secret: the connection URL from inside the cluster (what Hasura uses)."""


def deploy_postgres(prefix: str, args: PostgresArgs, place: Placement, namespace: str) -> InClusterPostgres:
    settings = args.settings
    selector = {"app.kubernetes.io/name": "postgres", **place.labels}
    password = pulumi.Output.secret(args.password)
    secret = kubernetes.core.v1.Secret(
        f"{prefix}-postgres-secret", metadata=place.metadata(SERVICE_NAME, selector), type="Opaque",
        string_data={PASSWORD_KEY: password}, opts=place.options())
    script = kubernetes.core.v1.ConfigMap(
        f"{prefix}-postgres-entrypoint", metadata=place.metadata(f"{SERVICE_NAME}-entrypoint", selector),
        data={"entrypoint.sh": ENTRYPOINT_SCRIPT, "follow-password.sh": PASSWORD_FOLLOWER_SCRIPT},
        opts=place.options())
    service = kubernetes.core.v1.Service(
        f"{prefix}-postgres-service", metadata=place.metadata(SERVICE_NAME, selector),
        spec=kubernetes.core.v1.ServiceSpecArgs(
            cluster_ip="None", selector=selector,
            ports=[kubernetes.core.v1.ServicePortArgs(name="postgres", port=PORT, target_port=PORT)]),
        opts=place.options())

    ready = (f'pg_isready -q -h 127.0.0.1 -p {PORT} -U "$POSTGRES_USER" -d "$POSTGRES_DB" '
             f"&& test -f {PASSWORD_SYNCED_MARKER}")

    def probe(command: str, period: int, failures: int) -> kubernetes.core.v1.ProbeArgs:
        return kubernetes.core.v1.ProbeArgs(
            exec_=kubernetes.core.v1.ExecActionArgs(command=["/bin/sh", "-c", command]),
            period_seconds=period, timeout_seconds=5, failure_threshold=failures)

    locked_down = kubernetes.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False, capabilities=kubernetes.core.v1.CapabilitiesArgs(drop=["ALL"]))

    statefulset = kubernetes.apps.v1.StatefulSet(
        f"{prefix}-postgres",
        metadata=place.metadata(SERVICE_NAME, selector),
        spec=kubernetes.apps.v1.StatefulSetSpecArgs(
            replicas=1,
            service_name=service.metadata.name,
            selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=selector),
            persistent_volume_claim_retention_policy=(
                kubernetes.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Retain", when_scaled="Retain")),
            template=kubernetes.core.v1.PodTemplateSpecArgs(
                # The scripts roll the pod; the password does not (it is followed live, see PASSWORD_FOLLOWER_SCRIPT).
                metadata=kubernetes.meta.v1.ObjectMetaArgs(labels=selector, annotations={
                    INPUTS_DIGEST_ANNOTATION: secret_digest({"script": ENTRYPOINT_SCRIPT,
                                                             "follower": PASSWORD_FOLLOWER_SCRIPT})}),
                spec=kubernetes.core.v1.PodSpecArgs(
                    automount_service_account_token=False,
                    enable_service_links=False,
                    # The pause container becomes PID 1 and reaps the entrypoint's detached password sync, as
                    # Docker's `init` does; Postgres itself must not be handed children it did not start.
                    share_process_namespace=True,
                    security_context=kubernetes.core.v1.PodSecurityContextArgs(
                        run_as_non_root=True, run_as_user=POSTGRES_UID, run_as_group=POSTGRES_UID,
                        fs_group=POSTGRES_UID,
                        # The kubelet otherwise re-owns every file of the database at each pod start (slow on a
                        # large volume); the volume's root tells it whether the ownership was already given.
                        fs_group_change_policy="OnRootMismatch",
                        seccomp_profile=kubernetes.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                    # Time for a clean (checkpointed) shutdown before the kubelet kills the server.
                    termination_grace_period_seconds=60,
                    containers=[kubernetes.core.v1.ContainerArgs(
                        name="postgres",
                        image=settings.image,
                        command=["/bin/sh", f"{SCRIPT_DIRECTORY}/entrypoint.sh"],
                        args=["postgres"],
                        ports=[kubernetes.core.v1.ContainerPortArgs(name="postgres", container_port=PORT)],
                        env=[
                            kubernetes.core.v1.EnvVarArgs(name="POSTGRES_USER", value=settings.user),
                            kubernetes.core.v1.EnvVarArgs(name="POSTGRES_DB", value=settings.database),
                            kubernetes.core.v1.EnvVarArgs(name="PGDATA", value=PGDATA),
                            kubernetes.core.v1.EnvVarArgs(
                                name="POSTGRES_PASSWORD", value_from=kubernetes.core.v1.EnvVarSourceArgs(
                                    secret_key_ref=kubernetes.core.v1.SecretKeySelectorArgs(
                                        name=secret.metadata.name, key=PASSWORD_KEY))),
                        ],
                        resources=kubernetes.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "1Gi"}),
                        # initdb on a new volume, or recovery after a crash, comes before the first answer; asked
                        # every second, so Hasura finds the restarted server (its DNS name lists Ready pods only)
                        # as soon as it answers.
                        startup_probe=probe(ready, period=1, failures=300),
                        readiness_probe=probe(ready, period=5, failures=3),
                        liveness_probe=probe(f'pg_isready -q -h 127.0.0.1 -p {PORT} -U "$POSTGRES_USER"',
                                             period=10, failures=6),
                        volume_mounts=[
                            kubernetes.core.v1.VolumeMountArgs(name=VOLUME_NAME, mount_path=MOUNT_PATH),
                            kubernetes.core.v1.VolumeMountArgs(name="entrypoint", mount_path=SCRIPT_DIRECTORY,
                                                               read_only=True),
                        ],
                        security_context=locked_down,
                    ), kubernetes.core.v1.ContainerArgs(
                        name="follow-password",
                        image=settings.image,
                        command=["/bin/sh", f"{SCRIPT_DIRECTORY}/follow-password.sh"],
                        env=[kubernetes.core.v1.EnvVarArgs(name="POSTGRES_USER", value=settings.user),
                             kubernetes.core.v1.EnvVarArgs(name="POSTGRES_DB", value=settings.database)],
                        resources=kubernetes.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "10m", "memory": "16Mi"}, limits={"memory": "64Mi"}),
                        volume_mounts=[
                            kubernetes.core.v1.VolumeMountArgs(name="entrypoint", mount_path=SCRIPT_DIRECTORY,
                                                               read_only=True),
                            kubernetes.core.v1.VolumeMountArgs(name="password", mount_path=SECRET_DIRECTORY,
                                                               read_only=True),
                        ],
                        security_context=locked_down,
                    )],
                    volumes=[
                        kubernetes.core.v1.VolumeArgs(
                            name="entrypoint",
                            config_map=kubernetes.core.v1.ConfigMapVolumeSourceArgs(name=script.metadata.name)),
                        # Readable by the pod's group (fsGroup) only.
                        kubernetes.core.v1.VolumeArgs(
                            name="password",
                            secret=kubernetes.core.v1.SecretVolumeSourceArgs(
                                secret_name=secret.metadata.name, default_mode=0o440)),
                    ],
                ),
            ),
            volume_claim_templates=[kubernetes.core.v1.PersistentVolumeClaimArgs(
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name=VOLUME_NAME, labels=selector),
                spec=kubernetes.core.v1.PersistentVolumeClaimSpecArgs(
                    access_modes=["ReadWriteOnce"],
                    storage_class_name=args.storage.class_name,
                    resources=kubernetes.core.v1.VolumeResourceRequirementsArgs(
                        requests={"storage": args.storage.size})))],
        ),
        opts=place.options(retain_on_delete=True))

    host = f"{SERVICE_NAME}.{namespace}.svc.cluster.local"
    url = pulumi.Output.secret(password.apply(
        lambda value: f"postgres://{settings.user}:{quote(value, safe='')}@{host}:{PORT}/{settings.database}"))
    return InClusterPostgres(statefulset=statefulset, url=url)
