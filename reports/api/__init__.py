"""The partner REST API (version 1): what is shared with a partner organisation, and
nothing else. Everything not shared with the caller answers 404 (design promise 6)."""
