"""The Postgres container's entrypoint wrapper, the same on every target that runs Postgres.

Postgres sets its superuser password only when it initializes an empty data directory, but the data outlives
containers and `pulumi destroy` (and a generated password does not). So the container starts through this
wrapper: once the server accepts TCP connections it sets the role's password from `POSTGRES_PASSWORD`, and the
health check (Docker) or readiness probe (Kubernetes) passes only after that.
"""

PASSWORD_SYNCED_MARKER = "/tmp/clerk-hasura-password-synced"

ENTRYPOINT_SCRIPT = f"""#!/bin/sh
# clerk-hasura: make the role's password match POSTGRES_PASSWORD on every start (the image only sets it
# when it initializes an empty volume), then report it through {PASSWORD_SYNCED_MARKER} for the health check.
set -eu
rm -f {PASSWORD_SYNCED_MARKER}
sync_password() {{
  # The image's first-run setup serves only the Unix socket; TCP answers once the real server is up.
  # -U names the role: without it pg_isready connects as the OS user (root) and the server logs a FATAL.
  until pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"; do sleep 0.5; done
  if printf '%s\\n' "ALTER ROLE :\\"role\\" WITH PASSWORD :'password';" \\
      | psql -q -v ON_ERROR_STOP=1 -v role="$POSTGRES_USER" -v password="$POSTGRES_PASSWORD" \\
          -U "$POSTGRES_USER" -d "$POSTGRES_DB" >/dev/null; then
    touch {PASSWORD_SYNCED_MARKER}
    echo "clerk-hasura: password of role $POSTGRES_USER set from POSTGRES_PASSWORD" >&2
  else
    echo "clerk-hasura: could not set the password of role $POSTGRES_USER (does postgres.user match the role \\
the data volume was created with?)" >&2
  fi
}}
# Detached (reparented to the container's init), so the Postgres server never has to reap it.
( sync_password & )
exec docker-entrypoint.sh "$@"
"""
