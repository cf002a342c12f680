"""The periodic tasks that the one Celery beat of a deployment runs, and how often.

There must be exactly one beat (docker-compose.yml, docs/scaling.md): each task below is
safe to run twice, but two beats would double every sweep for nothing.
"""

from __future__ import annotations

from config.env import env_int


def beat_schedule(*, sweep_interval_s: int) -> dict[str, dict[str, object]]:
    return {
        "sweep-quarantine": {
            "task": "intake.tasks.sweep_quarantine",
            "schedule": float(sweep_interval_s),
        },
        "sweep-webhooks": {
            "task": "reports.tasks.sweep_webhooks",
            "schedule": float(env_int("TESTIGO_WEBHOOK_SWEEP_INTERVAL_S", 120)),
        },
        "purge-expired": {
            "task": "reports.tasks.purge_expired",
            "schedule": float(env_int("TESTIGO_PURGE_INTERVAL_S", 3600)),
        },
        # Expired sessions (witness follow-ups, staff logins) leave the database.
        "clear-sessions": {
            "task": "intake.tasks.clear_expired_sessions",
            "schedule": float(env_int("TESTIGO_SESSION_CLEAR_INTERVAL_S", 3600)),
        },
        # Counts urgent reports whose alert was suppressed by TESTIGO_ALERTS_PER_HOUR.
        "alerts-digest": {
            "task": "reports.tasks.send_alerts_digest",
            "schedule": float(env_int("TESTIGO_ALERT_DIGEST_INTERVAL_S", 600)),
        },
    }
