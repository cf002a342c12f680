"""The staff workplace in the Django admin, one module per room:

- queue: the moderation queue and the incidents grouping makes
- reports: triage of approved reports, contact reveal, sharing, export; labels
- partners: partner organisations, shares, API keys, webhooks
- staff: users, roles, two-factor devices, login lockouts, the audit trail
- overview: the overview charts (a page, not a model's)
- publication: the review page of a publishable copy (faces hidden)
- facts, base: what the rooms share

Every change goes through reports.services; who may do what is reports.policy. The site
itself (two factors for every login) is reports.admin_site. Importing this package
registers every model admin (Django's autodiscover imports it).
"""

from reports.admin import partners, publication, queue, reports, staff

__all__ = ["partners", "publication", "queue", "reports", "staff"]
