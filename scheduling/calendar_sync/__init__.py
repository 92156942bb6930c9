"""Google Calendar sync: a clinic connects its Google account (OAuth 2.0 with PKCE) and appointments are mirrored
as events by a Celery task. The calendar capability (`settings.PROVIDERS["calendar"]`) is `google` (Calendar API
v3 over httpx) or `local` (events kept in a table, offline)."""
