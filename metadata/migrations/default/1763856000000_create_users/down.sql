-- Never run by the deploy (it never drops data); kept for `hasura migrate apply --down` by hand.
DROP TABLE public.users;
DROP FUNCTION public.set_current_timestamp_updated_at();
