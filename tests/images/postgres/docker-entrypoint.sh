#!/usr/bin/env bash
# The `postgres:17.10` stand-in's entrypoint: our own, written from the official image's documentation
# (https://hub.docker.com/_/postgres, "How to use this image", "Environment Variables", "Initialization scripts",
# "Arbitrary --user Notes"). It honours what the project relies on (components/targets/postgres_entrypoint.py
# wraps it with `exec docker-entrypoint.sh postgres`):
#  - POSTGRES_PASSWORD (required to initialize; "must not be empty or undefined"), POSTGRES_USER (default
#    `postgres`: the superuser), POSTGRES_DB (default: POSTGRES_USER), POSTGRES_INITDB_ARGS,
#    POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), and the `<NAME>_FILE` form of the first three ("Docker
#    Secrets");
#  - PGDATA ("defaults to /var/lib/postgresql/data"), initialized only when it holds no database: "any pre-existing
#    database will be left untouched on container startup";
#  - /docker-entrypoint-initdb.d: `*.sh` run if executable, sourced otherwise; `*.sql` and `*.sql.gz`
#    fed to psql as POSTGRES_USER on POSTGRES_DB, in sorted order, on first initialization only, while a
#    temporary server listens on the Unix socket alone (TCP answers only once the real server is up);
#  - the server runs as `postgres` (uid 999) when the container starts as root; "trust authentication locally"
#    (inside the container no password is needed), a password (POSTGRES_HOST_AUTH_METHOD) from anywhere else.
set -Eeo pipefail

# `<NAME>_FILE` names a file holding the value of <NAME> (Docker Secrets); both at once is an error.
file_env() {
  local name=$1 default=${2:-} file_name="${1}_FILE"
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
    echo "error: both $name and $file_name are set (but are exclusive)" >&2
    exit 1
  fi
  local value=$default
  if [ -n "${!name:-}" ]; then
    value=${!name}
  elif [ -n "${!file_name:-}" ]; then
    value=$(<"${!file_name}")
  fi
  export "$name"="$value"
  unset "$file_name"
}

# The official image runs `postgres` when the first argument is an option.
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
  exec "$@"
fi

# As any user ("Arbitrary --user Notes": the image also runs as a non-root uid owning PGDATA), the data directory is
# made 0700 at every start, failures ignored as the official entrypoint's docker_create_db_directories does: PostgreSQL
# refuses a data directory that others may write, as a Kubernetes fsGroup leaves it (the kubelet adds group rwx).
mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" || :
if [ "$(id -u)" = '0' ]; then
  # As root: own the data directory and the socket directory, then start over as `postgres`.
  chown postgres:postgres "$PGDATA"
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 03775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
export POSTGRES_INITDB_ARGS=${POSTGRES_INITDB_ARGS:-}
auth_method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth_method" != 'trust' ]; then
    cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
EOM
    exit 1
  fi

  # initdb's default authentication is `trust` for the local socket and loopback; the line appended below asks
  # every other address for a password.
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of arguments, split on purpose
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
  printf '\nhost all all all %s\n' "$auth_method" >>"$PGDATA/pg_hba.conf"

  # The temporary server for the setup: Unix socket only, so no client connects before the setup is done.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  psql_setup=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    printf 'CREATE DATABASE :"db";\n' | "${psql_setup[@]}" --dbname postgres --set db="$POSTGRES_DB"
  fi
  for file in /docker-entrypoint-initdb.d/*; do
    [ -e "$file" ] || continue
    case "$file" in
      *.sh)
        if [ -x "$file" ]; then
          echo "$0: running $file"
          "$file"
        else
          echo "$0: sourcing $file"
          # shellcheck disable=SC1090
          . "$file"
        fi
        ;;
      *.sql) echo "$0: running $file"; "${psql_setup[@]}" --dbname "$POSTGRES_DB" -f "$file" ;;
      *.sql.gz) echo "$0: running $file"; gunzip -c "$file" | "${psql_setup[@]}" --dbname "$POSTGRES_DB" ;;
      *) echo "$0: ignoring $file" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
else
  echo
  echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  echo
fi

exec "$@"
