"""clerk-hasura: PostgreSQL + Hasura GraphQL Engine v2 in Docker, trusting sign-ins from Clerk."""
