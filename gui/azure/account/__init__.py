"""Who the app talks to Azure as (no Qt): clouds, sign-in, the session and its clients, scope."""
