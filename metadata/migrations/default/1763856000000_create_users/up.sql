-- Users of the app, one row per Clerk user. `id` is the Clerk user id (`user_…`), which Hasura
-- receives as X-Hasura-User-Id from the JWT, so ownership needs no lookup.
CREATE TABLE public.users (
    id text PRIMARY KEY,
    email text,
    name text,
    image_url text,
    last_seen timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.users IS 'One row per Clerk user; id is the Clerk user id (user_...)';

-- Same function the Hasura console generates for "updated_at" columns.
CREATE OR REPLACE FUNCTION public.set_current_timestamp_updated_at()
RETURNS trigger AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER set_public_users_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.set_current_timestamp_updated_at();
