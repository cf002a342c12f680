"""How tests and benches launch Chromium and size its page like a phone. Nothing here
imports Django, so a bench (bench/slow_network.py) can use it outside pytest."""

PHONE_VIEWPORT = {"width": 390, "height": 844}
# Chromium must not reach out on its own: this machine has no network, and a witness's
# page must make no third-party request either.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
